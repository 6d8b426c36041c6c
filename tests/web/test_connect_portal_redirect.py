"""OAuth by full-page redirect in the hosted Connect portal: the page (whose own link is spent)
mints a fresh single-use link of its account as the way back, the provider's callback returns
the browser there, and the new page session shows the app connected. Hostile returns (a tampered,
reused or expired link, a forged state, a return to another origin) get a page, never a 500,
and never reach another account. Runs on SQLite and PostgreSQL against a real local provider."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from apps.oauth_server import OAuthTestServer
from apps.oauth_steps import open_start_page
from support import Tenant, assert_envelope
from weft.api.deps import app_state
from weft.apps.oauth import redirect_uri
from weft.clock import now
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import ConnectLink
from weft.tenancy.secrets import hash_secret

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
HUBSPOT = f"{BASE}/application/hubspot"
WEFT = "http://weft.test"  # the test client's base URL, here also the server's public URL


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url, data_dir=tmp_path, outbound_allow="127.0.0.1", public_url=WEFT
    )


@pytest.fixture
def provider(app: FastAPI) -> Iterator[OAuthTestServer]:
    server = OAuthTestServer()
    server.register(redirect_uri(app_state(app).settings))
    yield server
    server.close()


async def _use_provider(client: httpx.AsyncClient, tenant: Tenant, server: OAuthTestServer):
    answer = await client.put(
        f"{HUBSPOT}/settings", json=server.app_settings(), headers=tenant.org_key
    )
    assert answer.status_code == 200, answer.text


def portal_config(html: str) -> dict:
    match = re.search(r"window\.__WEFT_PORTAL__ = (\{.*?\});</script>", html)
    assert match, html
    return json.loads(match.group(1))


async def open_page(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Open a portal URL as the browser does; the page session's headers."""
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return {"Authorization": f"Bearer {portal_config(page.text)['token']}"}


async def start_by_redirect(client: httpx.AsyncClient, page: dict[str, str]) -> tuple[str, str]:
    """What the page's script does: a fresh link as the way back, then the provider's URL."""
    theme = {"name": "Acme", "color": "#0f766e", "apps": ["hubspot"], "expires_in": 900}
    link = await client.post(f"{BASE}/connect-url", json=theme, headers=page)
    assert link.status_code == 200, link.text
    back = link.json()["hosted_url"] + "&app=hubspot"
    started = await client.post(f"{HUBSPOT}/connection", json={"return_url": back}, headers=page)
    assert started.status_code == 200, started.text
    return await open_start_page(client, started.json()["auth_url"]), back


async def at_provider(auth_url: str, decision: str | None = None) -> str:
    """The provider's part in the browser; the callback URL (path and query) it sends back to."""
    async with httpx.AsyncClient() as browser:
        if decision is None:
            answer = await browser.get(auth_url)
        else:
            answer = await browser.post(auth_url, data={"decision": decision})
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


async def test_a_redirect_round_trip_comes_back_to_the_portal_connected(
    client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await _use_provider(client, tenant, provider)
    minted = await client.post(f"{BASE}/connect-url", json={}, headers=tenant.as_org())
    page = await open_page(client, minted.json()["hosted_url"])
    auth_url, back = await start_by_redirect(client, page)

    done = await client.get(await at_provider(auth_url))

    assert done.status_code == 303 and done.headers["location"] == back
    returned = await client.get(back)
    assert returned.status_code == 200, returned.text
    config = portal_config(returned.text)
    assert config["linkedAccountId"] == tenant.account_id
    assert config["apps"] == ["hubspot"] and config["theme"]["name"] == "Acme"
    resumed = {"Authorization": f"Bearer {config['token']}"}
    shown = (await client.get(HUBSPOT, headers=resumed)).json()
    assert shown["connected"] is True
    assert (await client.get(HUBSPOT, headers=tenant.bearer)).json()["connected"] is True

    # The way back works once: pressing Back to it shows the used-link page.
    again = await client.get(back)
    assert again.status_code == 410 and 'data-weft-error="used_link"' in again.text


async def test_a_denied_consent_comes_back_to_the_portal_saying_so(
    client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await _use_provider(client, tenant, provider)
    provider.state.consent_page = True
    minted = await client.post(f"{BASE}/connect-url", json={}, headers=tenant.as_org())
    page = await open_page(client, minted.json()["hosted_url"])
    auth_url, back = await start_by_redirect(client, page)

    done = await client.get(await at_provider(auth_url, "deny"))

    assert done.status_code == 303
    assert done.headers["location"] == back + "&error=access_denied"
    assert parse_qs(urlsplit(done.headers["location"]).query)["app"] == ["hubspot"]
    returned = await client.get(done.headers["location"])
    assert returned.status_code == 200  # the page opens, and its script says what happened
    assert (await client.get(HUBSPOT, headers=tenant.bearer)).json()["connected"] is False


async def test_hostile_returns_get_a_page_and_touch_no_other_account(
    client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer, db: Database
) -> None:
    await _use_provider(client, tenant, provider)
    await client.post(
        f"{BASE}/linked-account", json={"linked_account_id": "acct-b"}, headers=tenant.org_key
    )
    minted = await client.post(f"{BASE}/connect-url", json={}, headers=tenant.as_org())
    page = await open_page(client, minted.json()["hosted_url"])

    # Only Weft's own portal page, or the org's allowed origins, may be the way back.
    for elsewhere in (
        "https://evil.example/connect?token=wcl_x",
        f"{WEFT}@evil.example/connect?token=wcl_x",
        f"{WEFT}/connect-elsewhere?token=wcl_x",
        f"{WEFT}.evil.example/connect?token=wcl_x",
    ):
        refused = await client.post(
            f"{HUBSPOT}/connection", json={"return_url": elsewhere}, headers=page
        )
        assert_envelope(refused, 400, "RETURN_URL_NOT_ALLOWED")

    # A tampered way back: the unknown-link page.
    auth_url, back = await start_by_redirect(client, page)
    code = parse_qs(urlsplit(back).query)["token"][0]
    tampered = await client.get(back.replace(code, code[:-4] + "AAAA"))
    assert tampered.status_code == 401 and 'data-weft-error="invalid_link"' in tampered.text

    # A forged or replayed state: a page, and nothing connected.
    callback = await at_provider(auth_url)
    forged = await client.get(re.sub(r"state=[^&]+", "state=forged", callback))
    assert forged.status_code == 400 and "Unknown or expired" in forged.text
    assert (await client.get(f"{callback}&x=1")).status_code == 303
    replayed = await client.get(callback)
    assert replayed.status_code == 400 and "Unknown or expired" in replayed.text

    # A way back that expired while the user was at the provider: the expired-link page.
    async with db.transaction() as session:
        await session.execute(
            update(ConnectLink)
            .where(ConnectLink.link_hash == hash_secret(code))
            .values(expires_at=now() - timedelta(seconds=1))
        )
    expired = await client.get(back)
    assert expired.status_code == 410 and 'data-weft-error="expired_link"' in expired.text

    # Only this account was connected.
    assert (await client.get(HUBSPOT, headers=tenant.bearer)).json()["connected"] is True
    other = await client.post(f"{BASE}/connect-url", json={}, headers=tenant.as_org("acct-b"))
    other_page = await open_page(client, other.json()["hosted_url"])
    assert (await client.get(HUBSPOT, headers=other_page)).json()["connected"] is False
