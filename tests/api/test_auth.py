"""Both auth options on every linked-account route; bad, expired and revoked credentials."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from support import Tenant, TenantFactory, assert_envelope
from weft import clock

pytestmark = pytest.mark.integration

# Every route that acts for a linked account, with a body where it needs one. `{wf}` is a
# published workflow of the caller.
ACCOUNT_ROUTES: list[tuple[str, str, dict | None]] = [
    ("GET", "/api/v2/public/application", None),
    ("GET", "/api/v2/public/application/slack", None),
    ("POST", "/api/v2/public/workflow", {"name": "made by auth test"}),
    ("GET", "/api/v2/public/workflow", None),
    ("GET", "/api/v2/public/workflow/{wf}", None),
    ("PATCH", "/api/v2/public/workflow/{wf}", {"name": "renamed"}),
    ("GET", "/api/v2/public/workflow/{wf}/edit", None),
    ("PUT", "/api/v2/public/workflow/{wf}/draft", {"nodes": [{"id": "1", "type": "start"}]}),
    ("PUT", "/api/v2/public/workflow/{wf}/publish", {"published": True}),
    ("GET", "/api/v2/public/workflow/versions/{wf}", None),
    ("POST", "/api/v2/public/workflow/{wf}/versions/1/restore", None),
    ("DELETE", "/api/v2/public/workflow/{wf}/draft", None),
    ("DELETE", "/api/v2/public/workflow/{wf}", None),
]


async def published_workflow(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/api/v2/public/workflow", json={"name": "w"}, headers=headers)
    workflow_id = created.json()["workflow"]["associated_workflow"]
    published = await client.put(
        f"/api/v2/public/workflow/{workflow_id}/publish", json={"published": True}, headers=headers
    )
    assert published.status_code == 200, published.text
    return str(workflow_id)


@pytest.mark.parametrize("auth", ["session_token", "org_key"])
async def test_every_account_route_accepts_both_auth_options(
    client: httpx.AsyncClient, tenant: Tenant, auth: str
) -> None:
    headers = tenant.bearer if auth == "session_token" else tenant.as_org()
    workflow_id = await published_workflow(client, headers)
    for method, path, body in ACCOUNT_ROUTES:
        response = await client.request(
            method, path.format(wf=workflow_id), json=body, headers=headers
        )
        assert response.status_code == 200, (method, path, response.text)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wst_not-a-real-token"},
        {"Authorization": "Basic abc"},
        {"x-api-key": "weft_test_bogus", "linked_account_id": "acct-a"},
    ],
    ids=["none", "unknown-token", "wrong-scheme", "unknown-key"],
)
async def test_every_account_route_rejects_bad_credentials(
    client: httpx.AsyncClient, tenant: Tenant, headers: dict[str, str]
) -> None:
    workflow_id = await published_workflow(client, tenant.bearer)
    for method, path, body in ACCOUNT_ROUTES:
        response = await client.request(
            method, path.format(wf=workflow_id), json=body, headers=headers
        )
        body_out = assert_envelope(response, 401)
        assert body_out["message"] in ("Invalid Credentials",), (method, path)


async def test_org_key_without_linked_account_header_is_rejected(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Runs always belong to a linked account (workflow routes with the org key alone act on
    # the org's public workflows instead: tests/api/test_public_workflows.py).
    response = await client.get("/api/v2/public/execution", headers=tenant.org_key)
    assert_envelope(response, 401)


async def test_expired_session_token_is_rejected(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await client.get("/api/v2/public/workflow", headers=tenant.bearer)).status_code == 200
    clock.freeze(clock.now() + timedelta(hours=2))  # tenant tokens live one hour
    try:
        response = await client.get("/api/v2/public/workflow", headers=tenant.bearer)
    finally:
        clock.freeze(None)
    assert_envelope(response, 401)


async def test_revoked_session_token_is_rejected(client: httpx.AsyncClient, tenant: Tenant) -> None:
    revoked = await client.post(
        "/api/v2/public/session-token/revoke", json={"token": tenant.token}, headers=tenant.org_key
    )
    assert revoked.json() == {"revoked": 1}
    assert_envelope(await client.get("/api/v2/public/workflow", headers=tenant.bearer), 401)


async def test_revoking_a_linked_account_revokes_all_its_tokens(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await client.post(
        "/api/v2/public/session-token",
        json={"linked_account_id": tenant.account_id},
        headers=tenant.org_key,
    )
    token = second.json()["token"]
    revoked = await client.post(
        "/api/v2/public/session-token/revoke",
        json={"linked_account_id": tenant.account_id},
        headers=tenant.org_key,
    )
    assert revoked.json() == {"revoked": 2}
    for bearer in (tenant.token, token):
        response = await client.get(
            "/api/v2/public/workflow", headers={"Authorization": f"Bearer {bearer}"}
        )
        assert_envelope(response, 401)


async def test_session_token_defaults_to_24_hours(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = clock.now()
    response = await client.post(
        "/api/v2/public/session-token",
        json={"linked_account_id": "new-acct"},
        headers=tenant.org_key,
    )
    after = clock.now()
    assert response.status_code == 200
    expires = clock.parse_iso(response.json()["expiresAt"])
    # Bounded by the request's own start and end, so a slow, loaded machine cannot fail it.
    slack = timedelta(seconds=1)
    assert before + timedelta(hours=24) - slack <= expires <= after + timedelta(hours=24) + slack


async def test_org_routes_refuse_session_tokens(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/api/v2/public/linked-account", headers=tenant.bearer)
    assert_envelope(response, 401)


async def test_production_key_does_not_see_test_environment(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    await published_workflow(client, tenant.bearer)
    headers = {"x-api-key": tenant.keys["production"], "linked_account_id": tenant.account_id}
    # The linked account exists only in `test`: production cannot act for it.
    assert_envelope(await client.get("/api/v2/public/workflow", headers=headers), 404)
