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

from servers import RecordingServer, Request
from support import Tenant
from weft.engine.workers.host import Engine

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


async def drive_sdk(
    url: str,
    token: str,
    workflow_id: str,
    *,
    script: str = "drive_sdk.mjs",
    slug: str = SLUG,
    credentials: dict[str, str] = CREDENTIALS,
    **extra: str,
) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the SDK acceptance test"
    assert SDK.exists(), "run `npm ci --prefix tests/sdk` first (make test does)"
    assert json.loads(SDK.read_text())["version"].startswith("8.")
    process = await asyncio.create_subprocess_exec(
        node,
        str(HERE / script),
        cwd=HERE,
        env={
            "PATH": str(Path(node).parent),
            "WEFT_URL": url,
            "WEFT_TOKEN": token,
            "WEFT_SLUG": slug,
            "WEFT_CREDENTIALS": json.dumps(credentials),
            "WEFT_WORKFLOW_ID": workflow_id,
            **{f"WEFT_{name.upper()}": text for name, text in extra.items()},
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


class CrmApi(RecordingServer):
    """A CRM's API on 127.0.0.1 that lists its contact fields to a caller with its key."""

    def respond(self, request: Request) -> tuple[Any, ...]:
        if request.path == "/fields" and request.headers.get("x-key") == "crm-key":
            return 200, {"fields": CRM_FIELDS}
        return 404, {"error": "no"}


CRM_FIELDS = [
    {"key": "email_address", "title": "Email address"},
    {"key": "display_name", "title": "Display name"},
]


async def publish_mapping_workflow(client: httpx.AsyncClient, tenant: Tenant, api: str) -> str:
    """The org's `crm` app and a public workflow whose `mapping` field maps the SaaS's fields
    (the config's labels) to the CRM's (its `list_fields`), answering what a run reads."""
    app = {
        "slug": "crm",
        "name": "CRM",
        "auth": {
            "type": "keybased",
            "fields": [{"name": "api_key", "label": "Key"}],
            "headers": {"X-Key": "{api_key}"},
        },
        "base_url": api,
        "actions": [
            {"name": "list_fields", "label": "Fields", "method": "GET", "path": "/fields"}
            | {"effect": "read", "items": "fields", "pagination": False}
        ],
    }
    defined = await client.post("/api/v2/public/application", json=app, headers=tenant.org_key)
    assert defined.status_code == 200, defined.text
    created = await client.post(
        "/api/v2/public/workflow", json={"name": "Push", "slug": "crm"}, headers=tenant.org_key
    )
    workflow_id = created.json()["workflow"]["associated_workflow"]
    slot = {
        "name": "mapping",
        "field_type": "map",
        "required": True,
        "dynamic_options": {"action": "list_fields", "value": "key", "label": "title"},
    }
    out = {
        "email": "{{ config.data_slots.mapping.email }}",
        "all": "{{ config.data_slots.mapping }}",
    }
    draft = {
        "nodes": [
            {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
            {"id": "2", "type": "transform", "name": "Out", "data": {"value": out}},
        ],
        "edges": [{"id": "e", "source": "1", "target": "2"}],
        "settings": {"data_slots": [slot]},
    }
    url = f"/api/v2/public/workflow/{workflow_id}"
    saved = await client.put(f"{url}/draft", json=draft, headers=tenant.org_key)
    assert saved.status_code == 200, saved.text
    published = await client.put(f"{url}/publish", json={"published": True}, headers=tenant.org_key)
    assert published.status_code == 200, published.text
    return str(workflow_id)


async def test_sdk_maps_fields_to_the_connected_apps_and_runs_read_the_mapping(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    crm = CrmApi()
    try:
        workflow_id = await publish_mapping_workflow(client, tenant, crm.url)
        server, task, url = await serve(app)
        try:
            results = await drive_sdk(
                url,
                tenant.token,
                workflow_id,
                script="drive_sdk_mapping.mjs",
                slug="crm",
                credentials={"api_key": "crm-key"},
                field="mapping",
            )
        finally:
            server.should_exit = True
            await task
    finally:
        crm.close()

    before = value(results, "configBeforeConnect")["workflows"][0]["fields"][0]
    assert before["field_type"] == "map" and before["options"] is None
    assert before["options_error"]["error_code"] == "CONNECTION_REQUIRED"
    assert value(results, "connect") is True
    field = value(results, "config")["workflows"][0]["fields"][0]
    assert field["labels"] == [
        {"name": "Email", "value": "email"},
        {"name": "Full name", "value": "name"},
    ]
    assert field["options"] == [
        {"name": "Email address", "value": "email_address"},
        {"name": "Display name", "value": "display_name"},
    ]
    assert results["mapping"] == {"email": "email_address", "name": "display_name"}
    saved = value(results, "updateConfig")
    assert saved["field_errors"] == [] and saved["workflows"][0]["enabled"] is True
    read_back = value(results, "getConfig")["workflows"][0]["fields"][0]
    assert read_back["value"] == results["mapping"]
    assert read_back["options"] == field["options"]

    ran = await client.post(
        f"/api/v2/public/workflow/{workflow_id}/execute",
        json={"payload": {}, "sync_execution": True},
        headers=tenant.bearer,
    )
    assert ran.status_code == 200, ran.text
    assert ran.json() == {"email": "email_address", "all": results["mapping"]}
