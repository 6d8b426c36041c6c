"""The audit log: each change made through the API, the OAuth callback or the `weft` command,
read by org key."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_forks import run_weft
from engine.flows import BASE, execute, publish
from graphs import node
from support import Tenant, TenantFactory, assert_envelope
from weft.store.db import Database
from weft.tenancy.orgs import rotate_api_key

pytestmark = pytest.mark.integration


async def test_audit_log_records_changes_and_rotations_for_its_org_only(
    client: httpx.AsyncClient, make_tenant: TenantFactory, db: Database
) -> None:
    tenant, neighbour = await make_tenant(), await make_tenant()
    workflow = await publish(client, tenant, [node("1", "start", "Start", trigger="manual")])
    await execute(client, tenant, workflow, {})  # runs are the execution history's business
    missing = await client.delete(f"{BASE}/workflow/{'0' * 24}", headers=tenant.bearer)
    assert_envelope(missing, 404)  # a failed change is not an event
    deleted = await client.delete(f"{BASE}/workflow/{workflow}", headers=tenant.bearer)
    assert deleted.status_code == 200, deleted.text
    async with db.transaction() as session:
        rotated = await rotate_api_key(tenant.org_id, "test", session=session)

    read = await client.get(
        f"{BASE}/audit-log", params={"limit": 100}, headers={"x-api-key": rotated.api_key}
    )
    assert read.status_code == 200, read.text
    events = read.json()["docs"]
    actions = [event["action"] for event in events]
    assert actions == [
        "rotate API key",
        "DELETE /api/v2/public/workflow/{workflow_id}",
        "PUT /api/v2/public/workflow/{workflow_id}/publish",
        "PUT /api/v2/public/workflow/{workflow_id}/draft",
        "POST /api/v2/public/workflow",
    ]
    assert events[1]["target"] == {"workflow_id": workflow}
    assert events[1]["actor"] == "session_token"
    assert events[1]["linked_account_id"] == tenant.account_id
    assert events[1]["request_id"] == deleted.headers["x-request-id"]
    assert events[0]["actor"] == "cli"

    theirs = await client.get(f"{BASE}/audit-log", headers=neighbour.org_key)
    assert theirs.json()["docs"] == []
    assert_envelope(await client.get(f"{BASE}/audit-log", headers=tenant.bearer), 401)


async def _actions(client: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    read = await client.get(f"{BASE}/audit-log", params={"limit": 100}, headers={"x-api-key": key})
    assert read.status_code == 200, read.text
    return list(read.json()["docs"])


async def test_event_definitions_are_changes_and_event_triggers_are_runs(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    defined = await client.post(
        f"{BASE}/application/event", json={"name": "signup"}, headers=tenant.org_key
    )
    assert defined.status_code == 200, defined.text
    start = node("1", "start", "Start", trigger="event", event="signup")
    await publish(client, tenant, [start])
    fired = await client.post(
        f"{BASE}/event/trigger", json={"event": "signup", "payload": {}}, headers=tenant.bearer
    )
    assert fired.status_code == 200, fired.text
    actions = [event["action"] for event in await _actions(client, tenant.keys["test"])]
    assert actions[-1] == "POST /api/v2/public/application/event", actions
    assert not [action for action in actions if "/event/trigger" in action]


async def test_a_key_rotation_shows_in_every_environments_log(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    async with db.transaction() as session:
        rotated = await rotate_api_key(tenant.org_id, "test", session=session)
    for key in (rotated.api_key, tenant.keys["production"]):
        [event] = await _actions(client, key)
        assert event["action"] == "rotate API key" and event["actor"] == "cli"
        assert event["target"]["environment"] == "test"


def _weft(db_url: str, data_dir: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "WEFT_DATABASE_URL": db_url, "WEFT_DATA_DIR": str(data_dir)}
    done = run_weft([*args, "--json"], env=env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


async def test_changes_made_with_the_weft_command_are_in_the_log(
    client: httpx.AsyncClient, db_url: str, tmp_path: Path
) -> None:
    made = _weft(db_url, tmp_path, "org", "create", "--name", "Audited")
    org, keys = made["org_id"], made["api_keys"]
    _weft(db_url, tmp_path, "org", "update", "--org", org, "--allowed-origin", "https://a.example")
    _weft(db_url, tmp_path, "linked-account", "create", "--org", org, "--id", "c1")
    _weft(db_url, tmp_path, "token", "create", "--org", org, "--linked-account", "c1")

    test_log = await _actions(client, keys["test"])
    assert [(e["action"], e["actor"]) for e in test_log] == [
        ("issue session token", "cli"),
        ("save linked account", "cli"),
        ("update org settings", "cli"),
        ("create org", "cli"),
    ]
    assert test_log[2]["target"] == {"allowed_origins": "https://a.example"}
    # Org-wide changes show in production's log too; the test environment's account does not.
    production_log = await _actions(client, keys["production"])
    assert [e["action"] for e in production_log] == ["update org settings", "create org"]
