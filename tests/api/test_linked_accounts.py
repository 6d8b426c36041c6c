"""Linked accounts and session tokens, with the org API key."""

from __future__ import annotations

import httpx
import pytest

from support import Tenant, assert_envelope

pytestmark = pytest.mark.integration

BASE = "/api/v2/public/linked-account"


async def test_linked_account_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        BASE,
        json={"linked_account_id": "cust-1", "name": "Cust", "udf": {"tier": "gold"}},
        headers=tenant.org_key,
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) >= {
        "_id",
        "associated_org",
        "account_id",
        "environment",
        "name",
        "udf",
        "createdAt",
        "updatedAt",
    }
    assert body["associated_org"] == tenant.org_id and body["account_id"] == "cust-1"
    assert body["udf"] == {"tier": "gold"} and body["environment"] == "test"

    duplicate = await client.post(
        BASE, json={"linked_account_id": "cust-1"}, headers=tenant.org_key
    )
    assert_envelope(duplicate, 409, "LINKED_ACCOUNT_EXISTS")

    upserted = await client.put(
        BASE, json={"linked_account_id": "cust-1", "name": "Renamed"}, headers=tenant.org_key
    )
    assert upserted.json()["name"] == "Renamed" and upserted.json()["_id"] == body["_id"]
    assert upserted.json()["udf"] == {"tier": "gold"}

    one = await client.get(f"{BASE}/cust-1", headers=tenant.org_key)
    assert one.json()["name"] == "Renamed"
    listed = (await client.get(BASE, headers=tenant.org_key)).json()
    assert listed["totalDocs"] == 2  # the fixture's account too

    deleted = await client.delete(f"{BASE}/cust-1", headers=tenant.org_key)
    assert deleted.json() == {"message": "User deleted successfully", "success": True}
    assert_envelope(await client.get(f"{BASE}/cust-1", headers=tenant.org_key), 404)


async def test_deleting_a_linked_account_removes_its_workflows_and_tokens(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.post("/api/v2/public/workflow", json={"name": "w"}, headers=tenant.bearer)
    await client.delete(f"{BASE}/{tenant.account_id}", headers=tenant.org_key)
    assert_envelope(await client.get("/api/v2/public/workflow", headers=tenant.bearer), 401)
    token = await client.post(
        "/api/v2/public/session-token",
        json={"linked_account_id": tenant.account_id},
        headers=tenant.org_key,
    )
    fresh = {"Authorization": f"Bearer {token.json()['token']}"}
    assert (await client.get("/api/v2/public/workflow", headers=fresh)).json()["totalDocs"] == 0


async def test_session_token_creates_the_linked_account_on_first_use(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/v2/public/session-token",
        json={"linked_account_id": "brand-new", "name": "Brand New"},
        headers=tenant.org_key,
    )
    assert response.status_code == 200 and response.json()["token"].startswith("wst_")
    account = await client.get(f"{BASE}/brand-new", headers=tenant.org_key)
    assert account.json()["name"] == "Brand New"


async def test_session_token_rejects_bad_lifetimes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for expires_in in (0, 10, 10**9):
        response = await client.post(
            "/api/v2/public/session-token",
            json={"linked_account_id": "x", "expires_in": expires_in},
            headers=tenant.org_key,
        )
        assert_envelope(response, 400, "INVALID_EXPIRES_IN")


async def test_linked_account_id_is_validated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for body in ({}, {"linked_account_id": ""}, {"linked_account_id": "x" * 201}):
        assert_envelope(await client.post(BASE, json=body, headers=tenant.org_key), 400)
