"""A linked account cannot reach another's private workflows, nor can another org's key."""

from __future__ import annotations

import httpx
import pytest
from test_auth import published_workflow

from support import Tenant, TenantFactory, assert_envelope

pytestmark = pytest.mark.integration


def attempts(workflow_id: str, draft_id: str) -> list[tuple[str, str, dict | None]]:
    base = "/api/v2/public/workflow"
    return [
        ("GET", f"{base}/{workflow_id}", None),
        ("GET", f"{base}/{workflow_id}/edit", None),
        ("PATCH", f"{base}/{workflow_id}", {"name": "hijacked"}),
        ("PUT", f"{base}/{workflow_id}/draft", {"nodes": [{"id": "1", "type": "start"}]}),
        ("PUT", f"{base}/{draft_id}/draft", {"nodes": [{"id": "1", "type": "start"}]}),
        ("PUT", f"{base}/{workflow_id}/publish", {"published": True}),
        ("PUT", f"{base}/{workflow_id}/publish", {"published": False}),
        ("PUT", f"{base}/{draft_id}/publish", {"published": True}),
        ("GET", f"{base}/versions/{workflow_id}", None),
        ("POST", f"{base}/{workflow_id}/versions/1/restore", None),
        ("DELETE", f"{base}/{workflow_id}/draft", None),
        ("DELETE", f"{base}/{workflow_id}", None),
    ]


async def assert_untouchable(
    client: httpx.AsyncClient, owner: Tenant, intruder_headers: dict[str, str]
) -> None:
    workflow_id = await published_workflow(client, owner.bearer)
    draft = await client.get(f"/api/v2/public/workflow/{workflow_id}/edit", headers=owner.bearer)
    draft_id = draft.json()["_id"]
    listed = await client.get("/api/v2/public/workflow", headers=intruder_headers)
    assert listed.status_code == 200
    assert workflow_id not in [d["_id"] for d in listed.json()["docs"]]
    for method, path, body in attempts(workflow_id, draft_id):
        response = await client.request(method, path, json=body, headers=intruder_headers)
        assert_envelope(response, 404, "WORKFLOW_NOT_FOUND")
    # The owner's workflow is exactly as it was.
    mine = await client.get(f"/api/v2/public/workflow/{workflow_id}", headers=owner.bearer)
    assert mine.status_code == 200
    assert mine.json()["name"] == "w"
    assert mine.json()["published"] is True
    assert mine.json()["current_version"] == 1
    assert mine.json()["draft_id"] == draft_id


async def test_linked_account_cannot_touch_another_accounts_workflows(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    neighbour = await make_tenant(account_id="acct-b", org_id=tenant.org_id)
    await assert_untouchable(client, tenant, neighbour.bearer)
    await assert_untouchable(client, tenant, tenant.as_org("acct-b"))


async def test_another_orgs_key_cannot_touch_the_workflows(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    other_org = await make_tenant(account_id=tenant.account_id)  # same account id, other org
    await assert_untouchable(client, tenant, other_org.as_org(tenant.account_id))
    await assert_untouchable(client, tenant, other_org.bearer)


async def test_another_orgs_key_cannot_name_this_orgs_linked_account(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    other_org = await make_tenant(account_id="someone-else")
    headers = other_org.as_org(tenant.account_id)
    response = await client.get("/api/v2/public/workflow", headers=headers)
    assert_envelope(response, 404, "LINKED_ACCOUNT_NOT_FOUND")


async def test_linked_accounts_are_listed_per_org(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    other_org = await make_tenant(account_id="theirs")
    mine = await client.get("/api/v2/public/linked-account", headers=tenant.org_key)
    assert [d["account_id"] for d in mine.json()["docs"]] == [tenant.account_id]
    response = await client.delete(
        f"/api/v2/public/linked-account/{tenant.account_id}", headers=other_org.org_key
    )
    assert_envelope(response, 404, "LINKED_ACCOUNT_NOT_FOUND")
