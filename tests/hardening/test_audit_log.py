"""The audit log: each change made through the API and each key rotation, read by org key."""

from __future__ import annotations

import httpx
import pytest

from engine.flows import BASE, execute, publish
from graphs import node
from support import TenantFactory, assert_envelope
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
