"""Acceptance: Refold's frontend SDK from the npm registry works unchanged against a running Weft.

`npm ci --prefix tests/sdk` installs `@cobaltio/cobalt-js` at the version package-lock.json pins
(`make test` and `.ci/run` do it). The test serves Weft over real HTTP on 127.0.0.1, runs
`drive_sdk.mjs` under Node and checks what every SDK method answered.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from support import Tenant

HERE = Path(__file__).parent
SDK = HERE / "node_modules" / "@cobaltio" / "cobalt-js" / "package.json"
SLUG = "http"
CREDENTIALS = {
    "base_url": "https://api.example.com",
    "header_name": "x-api-key",
    "api_key": "sk-never-shown",
}

pytestmark = pytest.mark.slow


async def serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Weft on a free port of 127.0.0.1, in this event loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def publish_public_workflow(client: httpx.AsyncClient, tenant: Tenant) -> str:
    created = await client.post(
        "/api/v2/public/workflow", json={"name": "Sync", "slug": SLUG}, headers=tenant.org_key
    )
    workflow_id = created.json()["workflow"]["associated_workflow"]
    draft = {
        "nodes": [{"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}}],
        "edges": [],
        "settings": {"data_slots": [{"name": "channel", "required": True}]},
    }
    saved = await client.put(
        f"/api/v2/public/workflow/{workflow_id}/draft", json=draft, headers=tenant.org_key
    )
    assert saved.status_code == 200, saved.text
    published = await client.put(
        f"/api/v2/public/workflow/{workflow_id}/publish",
        json={"published": True},
        headers=tenant.org_key,
    )
    assert published.status_code == 200, published.text
    return str(workflow_id)


async def drive_sdk(url: str, token: str, workflow_id: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the SDK acceptance test"
    assert SDK.exists(), "run `npm ci --prefix tests/sdk` first (make test does)"
    assert json.loads(SDK.read_text())["version"].startswith("8.")
    process = await asyncio.create_subprocess_exec(
        node,
        str(HERE / "drive_sdk.mjs"),
        cwd=HERE,
        env={
            "PATH": str(Path(node).parent),
            "WEFT_URL": url,
            "WEFT_TOKEN": token,
            "WEFT_SLUG": SLUG,
            "WEFT_CREDENTIALS": json.dumps(CREDENTIALS),
            "WEFT_WORKFLOW_ID": workflow_id,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    return dict(json.loads(stdout.decode().strip().splitlines()[-1]))


def value(results: dict[str, Any], name: str) -> Any:
    result = results[name]
    assert result["ok"], f"{name}: {result}"
    return result["value"]


async def test_refold_frontend_sdk_works_unchanged(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await publish_public_workflow(client, tenant)
    server, task, url = await serve(app)
    try:
        results = await drive_sdk(url, tenant.token, workflow_id)
    finally:
        server.should_exit = True
        await task
    assert "sk-never-shown" not in json.dumps(results)

    account = value(results, "getAccountDetails")
    assert account["_id"] == tenant.org_id
    assert account["linked_account_id"] == tenant.account_id

    apps = value(results, "getAppAll")
    assert isinstance(apps, list) and SLUG in {a["slug"] for a in apps}
    before = value(results, "getAppBefore")
    assert before["slug"] == SLUG and before["auth_type"] == "keybased"
    assert before["connected"] is False
    assert value(results, "connect") is True
    connected = value(results, "getAppConnected")
    assert connected["connected"] is True and connected["reauth_required"] is False

    config = value(results, "config")
    assert config["slug"] == SLUG and config["config_id"] == SLUG
    assert config["labels"] == [{"name": "Lead", "value": "lead"}]
    assert [(w["id"], w["enabled"]) for w in config["workflows"]] == [(workflow_id, False)]
    assert value(results, "configNamed")["config_id"] == "eu"
    assert value(results, "getConfig")["_id"] == config["_id"]
    updated = value(results, "updateConfig")
    (workflow,) = updated["workflows"]
    assert workflow["enabled"] is True
    assert workflow["fields"][0]["value"] == "#sales"
    assert updated["fields"][0]["value"] == "eu"
    assert updated["field_errors"] == []
    assert value(results, "getConfigNamed")["config_id"] == "eu"
    assert value(results, "deleteConfigNamed")["success"] is True
    assert results["getConfigDeleted"] == {"ok": False, "error": "Not Found"}
    assert value(results, "deleteConfig")["config_id"] == SLUG

    assert results["disconnect"]["ok"], results["disconnect"]
    assert value(results, "getAppDisconnected")["connected"] is False
    assert results["badToken"] == {"ok": False, "error": "Unauthorized"}
