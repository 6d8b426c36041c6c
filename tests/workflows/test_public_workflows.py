"""Public (org-level) workflows: the org's key alone builds them; no linked account sees them as
its own, no other org sees them at all; dataslots only on public ones; triggers a config can own.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support import Tenant, TenantFactory, assert_envelope

pytestmark = pytest.mark.integration

BASE = "/api/v2/public/workflow"

SLOTS = [{"name": "channel", "label": "Channel", "field_type": "text", "required": True}]


def graph(trigger: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "1", "type": "start", "name": "Start", "data": trigger or {"trigger": "manual"}},
            {"id": "2", "type": "transform", "name": "T", "data": {"value": "{{ config }}"}},
        ],
        "edges": [{"id": "e1-2", "source": "1", "target": "2"}],
        "settings": {"data_slots": SLOTS},
    }


async def create_public(client: httpx.AsyncClient, tenant: Tenant, slug: str = "slack") -> str:
    created = await client.post(BASE, json={"name": "Notify", "slug": slug}, headers=tenant.org_key)
    assert created.status_code == 200, created.text
    draft = created.json()["workflow"]
    assert draft["linked_account_id"] is None and draft["scope"] == "public"
    return str(draft["associated_workflow"])


async def test_org_key_alone_creates_drafts_and_publishes_a_public_workflow(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await create_public(client, tenant)
    saved = await client.put(f"{BASE}/{workflow_id}/draft", json=graph(), headers=tenant.org_key)
    assert saved.status_code == 200, saved.text
    assert saved.json()["data_slots"] == SLOTS
    published = await client.put(
        f"{BASE}/{workflow_id}/publish", json={"published": True}, headers=tenant.org_key
    )
    assert published.status_code == 200, published.text
    assert published.json()["current_version"] == 1
    listed = (await client.get(BASE, headers=tenant.org_key)).json()
    assert [d["_id"] for d in listed["docs"]] == [workflow_id]
    assert listed["docs"][0]["scope"] == "public"
    assert listed["docs"][0]["slug"] == "slack"


async def test_linked_accounts_never_see_public_workflows_as_their_own(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await create_public(client, tenant)
    mine = (await client.get(BASE, headers=tenant.bearer)).json()
    assert mine["docs"] == []
    for headers in (tenant.bearer, tenant.as_org()):
        assert_envelope(
            await client.get(f"{BASE}/{workflow_id}", headers=headers), 404, "WORKFLOW_NOT_FOUND"
        )
        assert_envelope(
            await client.delete(f"{BASE}/{workflow_id}", headers=headers), 404, "WORKFLOW_NOT_FOUND"
        )


async def test_private_workflows_stay_out_of_the_org_public_listing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    private = await client.post(BASE, json={"name": "Mine"}, headers=tenant.bearer)
    private_id = private.json()["workflow"]["associated_workflow"]
    assert (await client.get(BASE, headers=tenant.org_key)).json()["docs"] == []
    assert_envelope(
        await client.get(f"{BASE}/{private_id}", headers=tenant.org_key), 404, "WORKFLOW_NOT_FOUND"
    )


async def test_another_org_cannot_reach_a_public_workflow(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    workflow_id = await create_public(client, tenant)
    other = await make_tenant()
    for headers in (other.org_key, other.bearer):
        assert (await client.get(BASE, headers=headers)).json()["docs"] == []
        assert_envelope(await client.get(f"{BASE}/{workflow_id}", headers=headers), 404)
        assert_envelope(
            await client.put(f"{BASE}/{workflow_id}/draft", json=graph(), headers=headers), 404
        )
    response = await client.post(
        f"{BASE}/{workflow_id}/execute", json={"payload": {}}, headers=other.bearer
    )
    assert_envelope(response, 404, "WORKFLOW_NOT_FOUND")


async def test_private_workflows_cannot_declare_dataslots(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(BASE, json={"name": "Mine"}, headers=tenant.bearer)
    workflow_id = created.json()["workflow"]["associated_workflow"]
    response = await client.put(f"{BASE}/{workflow_id}/draft", json=graph(), headers=tenant.bearer)
    body = assert_envelope(response, 400, "DATA_SLOTS_NOT_ALLOWED")
    assert "Private workflows cannot use dataslots" in body["message"]


async def test_malformed_dataslots_are_refused_naming_the_slot(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await create_public(client, tenant)
    bad = {**graph(), "settings": {"data_slots": [{"name": "ok"}, {"name": "no spaces"}]}}
    response = await client.put(f"{BASE}/{workflow_id}/draft", json=bad, headers=tenant.org_key)
    body = assert_envelope(response, 400, "INVALID_DATA_SLOTS")
    assert "data_slots[1].name" in body["message"]


async def test_public_workflows_cannot_start_from_a_webhook_or_schedule(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await create_public(client, tenant)
    for trigger in ({"trigger": "webhook"}, {"trigger": "schedule", "cron": "* * * * *"}):
        saved = await client.put(
            f"{BASE}/{workflow_id}/draft", json=graph(trigger), headers=tenant.org_key
        )
        assert saved.status_code == 200, saved.text
        response = await client.put(
            f"{BASE}/{workflow_id}/publish", json={"published": True}, headers=tenant.org_key
        )
        assert_envelope(response, 400, "INVALID_PUBLIC_TRIGGER")


async def test_the_org_key_cannot_run_a_public_workflow_without_a_linked_account(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await create_public(client, tenant)
    response = await client.post(
        f"{BASE}/{workflow_id}/execute", json={"payload": {}}, headers=tenant.org_key
    )
    assert_envelope(response, 401)
