"""CORS: grants only for origins an org allows, and responses readable only by the caller's org."""

from __future__ import annotations

import httpx
import pytest

from support import Tenant, TenantFactory, assert_envelope

pytestmark = pytest.mark.integration

APPS = "/api/v2/f-sdk/application"
SAAS = "https://app.saas.example"


async def allow(client: httpx.AsyncClient, tenant: Tenant, *origins: str) -> None:
    response = await client.put(
        "/api/v2/public/org/settings",
        json={"allowed_origins": list(origins)},
        headers=tenant.org_key,
    )
    assert response.status_code == 200, response.text


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_preflight_from_an_allowed_origin_is_granted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await allow(client, tenant, SAAS)
    response = await client.options("/api/v2/f-sdk/config", headers=preflight_headers(SAAS))
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SAAS
    allowed = response.headers["access-control-allow-headers"]
    assert "authorization" in allowed and "content-type" in allowed
    assert "PUT" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["vary"] == "Origin"


async def test_preflight_from_an_origin_no_org_allows_gets_no_grant(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await allow(client, tenant, SAAS)
    for origin in ("https://evil.example", "null", "https://app.saas.example.evil.example"):
        response = await client.options(APPS, headers=preflight_headers(origin))
        assert_envelope(response, 403, "CORS_ORIGIN_NOT_ALLOWED")
        assert "access-control-allow-origin" not in response.headers


async def test_responses_carry_the_grant_only_for_the_callers_org(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    other = await make_tenant()
    await allow(client, tenant, SAAS)
    await allow(client, other, "https://other.example")
    mine = await client.get(APPS, headers={**tenant.bearer, "Origin": SAAS})
    assert mine.status_code == 200
    assert mine.headers["access-control-allow-origin"] == SAAS
    assert "x-request-id" in mine.headers["access-control-expose-headers"]
    # The other org's page cannot read this org's answers, nor this page the other org's.
    theirs = await client.get(APPS, headers={**other.bearer, "Origin": SAAS})
    assert theirs.status_code == 200
    assert "access-control-allow-origin" not in theirs.headers
    crossed = await client.get(APPS, headers={**tenant.bearer, "Origin": "https://other.example"})
    assert "access-control-allow-origin" not in crossed.headers


async def test_errors_of_an_authenticated_call_are_readable_by_an_allowed_origin(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await allow(client, tenant, SAAS)
    response = await client.get(f"{APPS}/no-such-app", headers={**tenant.bearer, "Origin": SAAS})
    assert_envelope(response, 404, "APP_NOT_FOUND")
    assert response.headers["access-control-allow-origin"] == SAAS


async def test_unauthenticated_calls_get_no_grant(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await allow(client, tenant, SAAS)
    response = await client.get(APPS, headers={"Origin": SAAS})
    assert_envelope(response, 401)
    assert "access-control-allow-origin" not in response.headers


async def test_requests_without_origin_are_untouched(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(APPS, headers=tenant.bearer)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "vary" not in response.headers
