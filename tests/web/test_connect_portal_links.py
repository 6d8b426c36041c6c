"""The hosted Connect portal: minting, single use, expiry, and whose account a page acts for."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from support import Tenant, TenantFactory, assert_envelope
from weft.clock import now
from weft.store.db import Database
from weft.store.tables import ConnectLink, NotificationDelivery
from weft.tenancy.secrets import hash_secret

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"


def link_code(hosted_url: str) -> str:
    parts = urlsplit(hosted_url)
    assert parts.path == "/connect"
    return parse_qs(parts.query)["token"][0]


def portal_config(html: str) -> dict:
    match = re.search(r"window\.__WEFT_PORTAL__ = (\{.*?\});</script>", html)
    assert match, html
    return json.loads(match.group(1))


async def mint(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> str:
    answer = await client.post(f"{BASE}/connect-url", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"hosted_url", "expiresAt"}
    return link_code(answer.json()["hosted_url"])


def assert_link_page(response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f'data-weft-error="{reason}"' in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_org_key_mints_a_themed_link_whose_page_acts_for_that_account(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await client.put(
        f"{BASE}/org/settings",
        json={"allowed_origins": ["https://host.example"]},
        headers=tenant.org_key,
    )
    code = await mint(
        client,
        tenant.as_org(),
        color="#0f766e",
        bgColor="#f0fdfa",
        name="Acme <Integrations>",
        apps=["stripe", "http"],
        expires_in=300,
    )
    async with db.reading() as session:
        row = await session.scalar(
            select(ConnectLink).where(ConnectLink.link_hash == hash_secret(code))
        )
    assert row is not None and row.theme["color"] == "#0f766e" and row.used_at is None

    page = await client.get("/connect", params={"token": code})

    assert page.status_code == 200, page.text
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://host.example" in csp
    assert "script-src 'nonce-" in csp and "unsafe-inline" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<title>Acme &lt;Integrations&gt;</title>" in page.text
    config = portal_config(page.text)
    assert config["theme"] == {
        "color": "#0f766e",
        "bgColor": "#f0fdfa",
        "name": "Acme <Integrations>",
    }
    assert config["apps"] == ["stripe", "http"]
    assert config["linkedAccountId"] == tenant.account_id
    # The page session is a session token of this account: it lists this account's apps.
    apps = await client.get(
        f"{BASE}/application", headers={"Authorization": f"Bearer {config['token']}"}
    )
    assert apps.status_code == 200


async def test_a_link_works_once_and_a_reused_one_shows_a_page(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    code = await mint(client, tenant.bearer)
    assert (await client.get("/connect", params={"token": code})).status_code == 200

    again = await client.get("/connect", params={"token": code})

    assert_link_page(again, 410, "used_link")
    assert "__WEFT_PORTAL__" not in again.text


async def test_an_expired_link_shows_a_page_and_is_not_used_up(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    code = await mint(client, tenant.as_org(), expires_in=60)
    async with db.transaction() as session:
        await session.execute(
            update(ConnectLink)
            .where(ConnectLink.link_hash == hash_secret(code))
            .values(expires_at=now() - timedelta(seconds=1))
        )

    assert_link_page(await client.get("/connect", params={"token": code}), 410, "expired_link")
    async with db.reading() as session:
        row = await session.scalar(
            select(ConnectLink).where(ConnectLink.link_hash == hash_secret(code))
        )
    assert row is not None and row.used_at is None


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "missing_link"),
        ({"token": "wcl_nope"}, "invalid_link"),
        ({"token": "x" * 600}, "invalid_link"),
    ],
)
async def test_missing_or_unknown_links_show_a_page(
    client: httpx.AsyncClient, params: dict[str, str], reason: str
) -> None:
    assert_link_page(await client.get("/connect", params=params), 401, reason)


@pytest.mark.parametrize(
    "body",
    [
        {"color": "red; background: url(x)"},
        {"bgColor": "#12345"},
        {"name": "n" * 101},
        {"apps": ["Not A Slug!"]},
        {"expires_in": 59},
        {"expires_in": 3601},
        {"color": 5},
    ],
)
async def test_bad_requests_are_400_in_refolds_envelope(
    client: httpx.AsyncClient, tenant: Tenant, body: dict
) -> None:
    answer = await client.post(f"{BASE}/connect-url", json=body, headers=tenant.bearer)
    assert_envelope(answer, 400)


async def test_minting_needs_an_account(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_envelope(await client.post(f"{BASE}/connect-url", json={}), 401)
    assert_envelope(await client.post(f"{BASE}/connect-url", json={}, headers=tenant.org_key), 401)
    missing = await client.post(
        f"{BASE}/connect-url", json={}, headers=tenant.as_org("nobody-here")
    )
    assert_envelope(missing, 404, "LINKED_ACCOUNT_NOT_FOUND")


async def test_another_accounts_link_cannot_act_on_this_account(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, db: Database
) -> None:
    """A link minted for acct-b (same org) opens a page that can only touch acct-b; acct-a's
    connection stays, and a link of another org reaches neither."""
    await client.post(
        f"{BASE}/application/stripe/connection",
        json={"credentials": {"api_key": "sk_test_aaaa1111"}},
        headers=tenant.bearer,
    )
    await client.post(
        f"{BASE}/linked-account", json={"linked_account_id": "acct-b"}, headers=tenant.org_key
    )
    other_org = await make_tenant("acct-c")
    for headers, account in ((tenant.as_org("acct-b"), "acct-b"), (other_org.bearer, "acct-c")):
        code = await mint(client, headers)
        config = portal_config((await client.get("/connect", params={"token": code})).text)
        assert config["linkedAccountId"] == account
        page_session = {"Authorization": f"Bearer {config['token']}"}
        stripe = (await client.get(f"{BASE}/application/stripe", headers=page_session)).json()
        assert stripe["connected"] is False
        await client.delete(f"{BASE}/application/stripe/connection", headers=page_session)

    mine = (await client.get(f"{BASE}/application/stripe", headers=tenant.bearer)).json()
    assert mine["connected"] is True


async def test_connecting_through_the_page_session_notifies_as_the_sdk(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await client.post(
        f"{BASE}/webhook",
        json={
            "webhook_url": "https://hooks.example.com/weft",
            "webhook_events": ["Connection Created", "Connection Deleted"],
        },
        headers=tenant.org_key,
    )
    code = await mint(client, tenant.as_org())
    config = portal_config((await client.get("/connect", params={"token": code})).text)
    page_session = {"Authorization": f"Bearer {config['token']}"}
    connected = await client.post(
        f"{BASE}/application/stripe/connection",
        json={"credentials": {"api_key": "sk_test_bbbb2222"}},
        headers=page_session,
    )
    assert connected.status_code == 200, connected.text
    await client.delete(f"{BASE}/application/stripe/connection", headers=page_session)
    async with db.reading() as session:
        rows = (
            await session.scalars(
                select(NotificationDelivery).where(
                    NotificationDelivery.payload["org_id"].as_string() == tenant.org_id
                )
            )
        ).all()
    assert sorted(row.event for row in rows) == ["Connection Created", "Connection Deleted"]
