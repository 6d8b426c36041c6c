"""The OAuth2 flow is bound to the browser that started it (issue 26, finding 6; RFC 9700 4.7).

An attacker starts connecting an app for their own account and sends the provider's URL (their
`state` inside) to a victim. The victim approves at the provider; their browser lands on Weft's
callback without the attacker's cookie: nothing is stored in either account, the code is never
even exchanged, and the spent state cannot be replayed. Both databases, a real provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from oauth_server import OAuthTestServer
from oauth_steps import at_provider, connect_in_browser, open_start_page
from sqlalchemy import select

from support import Tenant, TenantFactory
from weft.api.deps import app_state
from weft.apps.oauth import redirect_uri
from weft.settings import Settings
from weft.store.tables import Connection

pytestmark = pytest.mark.integration

APP = "/api/v2/public/application/hubspot"
WEFT = "https://weft.example"  # https: the cookie is Secure


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


@pytest.fixture
async def victim_browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Another person's browser: a cookie jar of its own."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=WEFT) as browser:
        yield browser


@pytest.fixture
async def attacker_browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=WEFT) as browser:
        yield browser


async def _stored(app: FastAPI, org_id: str) -> list[str]:
    async with app_state(app).db.reading() as session:
        rows = await session.scalars(select(Connection).where(Connection.org_id == org_id))
        return [row.linked_account_pk for row in rows]


async def test_a_victim_completing_the_attackers_flow_stores_nothing(
    app: FastAPI,
    tenant: Tenant,
    make_tenant: TenantFactory,
    provider: OAuthTestServer,
    attacker_browser: httpx.AsyncClient,
    victim_browser: httpx.AsyncClient,
) -> None:
    attacker = tenant
    victim = await make_tenant("carol-the-victim", org_id=attacker.org_id)
    configured = await attacker_browser.put(
        f"{APP}/settings", json=provider.app_settings(), headers=attacker.org_key
    )
    assert configured.status_code == 200, configured.text
    # The victim has a flow of their own going: its cookie does not pass for the attacker's.
    own = await victim_browser.post(f"{APP}/connection", json={}, headers=victim.bearer)
    await open_start_page(victim_browser, own.json()["auth_url"])

    started = await attacker_browser.post(f"{APP}/connection", json={}, headers=attacker.bearer)
    assert started.status_code == 200, started.text
    start_page = started.json()["auth_url"]
    assert start_page.startswith(f"{WEFT}/oauth/start/")
    opened = await attacker_browser.get(start_page)
    cookie = opened.headers["set-cookie"].lower()
    for attribute in ("httponly", "secure", "samesite=lax", "path=/oauth/callback"):
        assert attribute in cookie, cookie
    # The start page works once: a link the attacker opened is dead for anyone else.
    again = await victim_browser.get(start_page)
    assert again.status_code == 400 and "already opened" in again.text

    # The victim approves the attacker's provider URL; their browser comes back to Weft.
    callback = await at_provider(opened.headers["location"])
    refused = await victim_browser.get(callback)
    assert refused.status_code == 400
    assert "Start connecting again from your app" in refused.text
    assert '"ok": false, "error": "other_browser"' in refused.text
    assert provider.state.grants_seen == []  # the victim's code was never exchanged
    assert await _stored(app, attacker.org_id) == []
    for who in (attacker, victim):
        shown = (await victim_browser.get(APP, headers=who.bearer)).json()
        assert shown["connected"] is False and shown["connected_accounts"] == []

    # The state is spent: the attacker's own browser (with the cookie) cannot replay it.
    replayed = await attacker_browser.get(callback)
    assert replayed.status_code == 400 and "Unknown or expired" in replayed.text
    assert provider.state.grants_seen == [] and await _stored(app, attacker.org_id) == []


async def test_the_browser_that_started_connects_and_its_cookie_is_spent(
    app: FastAPI,
    tenant: Tenant,
    provider: OAuthTestServer,
    attacker_browser: httpx.AsyncClient,
) -> None:
    browser = attacker_browser  # here simply the user's own browser
    await browser.put(f"{APP}/settings", json=provider.app_settings(), headers=tenant.org_key)
    done = await connect_in_browser(browser, APP, tenant.bearer)
    assert done.status_code == 200 and "is connected" in done.text
    assert "max-age=0" in done.headers["set-cookie"].lower()  # the flow's cookie is cleared
    assert len(await _stored(app, tenant.org_id)) == 1


async def test_a_callback_without_any_start_page_stores_nothing(
    app: FastAPI,
    tenant: Tenant,
    provider: OAuthTestServer,
    attacker_browser: httpx.AsyncClient,
) -> None:
    """A state whose start page was never opened (the provider URL rebuilt from the state)
    cannot complete either: no browser holds its cookie."""
    browser = attacker_browser
    await browser.put(f"{APP}/settings", json=provider.app_settings(), headers=tenant.org_key)
    started = await browser.post(f"{APP}/connection", json={}, headers=tenant.bearer)
    state = started.json()["auth_url"].rsplit("/", 1)[1]
    refused = await browser.get(f"/oauth/callback?state={state}&code=stolen")
    assert refused.status_code == 400 and "not started in this browser" in refused.text
    assert await _stored(app, tenant.org_id) == []


async def test_only_the_starting_browser_is_sent_back_or_forgets_a_denied_flow(
    app: FastAPI,
    tenant: Tenant,
    provider: OAuthTestServer,
    attacker_browser: httpx.AsyncClient,
    victim_browser: httpx.AsyncClient,
) -> None:
    browser = attacker_browser  # the user's own browser
    await browser.put(f"{APP}/settings", json=provider.app_settings(), headers=tenant.org_key)
    allowed = {"allowed_origins": ["https://app.example"]}
    await browser.put("/api/v2/public/org/settings", json=allowed, headers=tenant.org_key)
    body = {"return_url": "https://app.example/done"}
    started = await browser.post(f"{APP}/connection", json=body, headers=tenant.bearer)
    callback = await at_provider(await open_start_page(browser, started.json()["auth_url"]))
    state = callback.split("state=", 1)[1].split("&", 1)[0]

    # Another browser with an error for this state: a page, no redirect, the flow goes on.
    denied = await victim_browser.get(f"/oauth/callback?state={state}&error=access_denied")
    assert denied.status_code == 400 and "location" not in denied.headers
    done = await browser.get(callback)
    assert done.status_code == 303 and done.headers["location"] == "https://app.example/done"
    assert len(await _stored(app, tenant.org_id)) == 1
