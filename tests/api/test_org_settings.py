"""Org settings: the allowed origins an org sets with its API key (and never another org's)."""

from __future__ import annotations

import httpx
import pytest

from support import Tenant, TenantFactory, assert_envelope
from weft.errors import InvalidInput
from weft.store.db import Database
from weft.tenancy.orgs import allowed_origins_of, normalize_origin

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"


async def test_org_sets_and_reads_its_allowed_origins(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    empty = await client.get(f"{BASE}/org/settings", headers=tenant.org_key)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "org_id": tenant.org_id,
        "allowed_origins": [],
        "outbound_allow": [],
        "pause_after_failures": 10,
    }

    put = await client.put(
        f"{BASE}/org/settings",
        json={"allowed_origins": ["https://App.Example.com/", "http://localhost:5173"]},
        headers=tenant.org_key,
    )
    assert put.status_code == 200, put.text
    expected = ["https://app.example.com", "http://localhost:5173"]
    assert put.json()["allowed_origins"] == expected
    got = await client.get(f"{BASE}/org/settings", headers=tenant.org_key)
    assert got.json()["allowed_origins"] == expected
    async with db.reading() as session:
        assert await allowed_origins_of(tenant.org_id, session=session) == expected


async def test_put_without_the_field_keeps_the_origins(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"allowed_origins": ["https://a.example"]}
    await client.put(f"{BASE}/org/settings", json=body, headers=tenant.org_key)
    kept = await client.put(f"{BASE}/org/settings", json={}, headers=tenant.org_key)
    assert kept.json()["allowed_origins"] == ["https://a.example"]
    cleared = await client.put(
        f"{BASE}/org/settings", json={"allowed_origins": []}, headers=tenant.org_key
    )
    assert cleared.json()["allowed_origins"] == []


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com/path",
        "app.example.com",
        "ftp://app.example.com",
        "https://user:pw@app.example.com",
        "https://app.example.com?x=1",
        "https://*.example.com",
        "https://app.example.com:99999",
        "",
    ],
)
async def test_an_origin_with_a_path_or_odd_scheme_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, origin: str
) -> None:
    response = await client.put(
        f"{BASE}/org/settings", json={"allowed_origins": [origin]}, headers=tenant.org_key
    )
    assert_envelope(response, 400, "INVALID_ORIGIN")
    after = await client.get(f"{BASE}/org/settings", headers=tenant.org_key)
    assert after.json()["allowed_origins"] == []


async def test_settings_need_the_org_key_not_a_session_token(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert_envelope(await client.get(f"{BASE}/org/settings", headers=tenant.bearer), 401)
    put = await client.put(
        f"{BASE}/org/settings", json={"allowed_origins": []}, headers=tenant.bearer
    )
    assert_envelope(put, 401)


async def test_one_org_never_sees_anothers_origins(
    client: httpx.AsyncClient, make_tenant: TenantFactory
) -> None:
    first, second = await make_tenant(), await make_tenant()
    await client.put(
        f"{BASE}/org/settings",
        json={"allowed_origins": ["https://first.example"]},
        headers=first.org_key,
    )
    other = await client.get(f"{BASE}/org/settings", headers=second.org_key)
    assert other.json() == {
        "org_id": second.org_id,
        "allowed_origins": [],
        "outbound_allow": [],
        "pause_after_failures": 10,
    }


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
def test_origin_normalisation_keeps_ports_and_ipv6() -> None:
    assert normalize_origin("HTTPS://Host.Example:8443") == "https://host.example:8443"
    assert normalize_origin("http://[::1]:3000/") == "http://[::1]:3000"
    with pytest.raises(InvalidInput):
        normalize_origin("https://host.example/a/")
