"""OAuth2 end to end against a real Authlib authorization server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from actions_support import run_action, scope_of
from fastapi import FastAPI
from oauth_server import CLIENT_SECRET, OAuthTestServer
from oauth_steps import open_start_page
from sqlalchemy import select

from support import Tenant, assert_envelope
from weft import clock
from weft.api.deps import app_state
from weft.apps.oauth import redirect_uri
from weft.nodes.runtime import NodeFailure
from weft.store.tables import NotificationDelivery, OAuthState

pytestmark = pytest.mark.integration

APP = "/api/v2/public/application/hubspot"


@pytest.fixture
def provider(app: FastAPI) -> Iterator[OAuthTestServer]:
    server = OAuthTestServer(expires_in=3600)
    server.register(redirect_uri(app_state(app).settings))
    yield server
    server.close()
    clock.freeze(None)


async def _configure(client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer) -> None:
    response = await client.put(
        f"{APP}/settings", json=provider.app_settings(), headers=tenant.org_key
    )
    assert response.status_code == 200, response.text
    assert CLIENT_SECRET not in response.text
    assert response.json()["client_secret_set"] is True


async def _connect(client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer) -> None:
    """Start, follow the provider's redirect like a browser, land on Weft's callback."""
    started = await client.post(f"{APP}/connection", json={}, headers=tenant.bearer)
    assert started.status_code == 200, started.text
    auth_url = await open_start_page(client, started.json()["auth_url"])
    query = parse_qs(urlsplit(auth_url).query)
    assert auth_url.startswith(f"{provider.url}/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["state"][0]
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(auth_url)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == redirect_uri(client_settings(client))
    done = await client.get(f"{back.path}?{back.query}")
    assert done.status_code == 200, done.text
    assert "connected" in done.text


def client_settings(client: httpx.AsyncClient):  # the app behind the ASGI transport
    return app_state(client._transport.app).settings  # type: ignore[attr-defined]


async def test_oauth_connect_call_refresh_and_revoke_end_to_end(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await _configure(client, tenant, provider)
    await _connect(client, tenant, provider)
    state = provider.state
    assert state.grants_seen == ["authorization_code"]
    shown = (await client.get(APP, headers=tenant.bearer)).json()
    assert shown["connected"] is True and shown["reauth_required"] is False
    assert shown["connected_accounts"][0]["auth_type"] == "oauth2"
    first = state.tokens[0]
    assert first.access_token not in str(shown) and first.refresh_token not in str(shown)

    # A call uses the access token.
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    result = await run_action(app, scope, "hubspot", "get_contact", {"contactId": "7"})
    assert result.output["id"] == "7"
    assert state.api_calls == [first.access_token]

    # Near expiry, the token is refreshed before the call.
    clock.freeze(clock.now() + timedelta(seconds=3600))
    await run_action(app, scope, "hubspot", "get_contact", {"contactId": "8"})
    clock.freeze(None)
    assert state.grants_seen == ["authorization_code", "refresh_token"]
    second = state.tokens[1]
    assert state.api_calls[-1] == second.access_token
    assert first.revoked  # the provider rotated the refresh token

    # The provider drops the access token early: a 401 refreshes once and retries.
    second.access_revoked = True
    await run_action(app, scope, "hubspot", "get_contact", {"contactId": "9"})
    assert state.grants_seen[-1] == "refresh_token" and len(state.tokens) == 3
    assert state.api_calls[-1] == state.tokens[2].access_token

    # Disconnecting revokes the refresh token at the provider.
    gone = await client.delete(f"{APP}/connection", headers=tenant.bearer)
    assert gone.status_code == 200 and gone.json() == {"success": True, "revoked": True}
    assert state.revoked_seen == [state.tokens[2].refresh_token]
    assert state.tokens[2].revoked
    after = (await client.get(APP, headers=tenant.bearer)).json()
    assert after["connected"] is False and after["connected_accounts"] == []


async def test_refused_refresh_marks_the_connection_reauth_required(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await client.post(
        "/api/v2/public/webhook",
        json={
            "webhook_url": "https://hooks.example.com/w",
            "webhook_events": ["Connection Expired"],
        },
        headers=tenant.org_key,
    )
    await _configure(client, tenant, provider)
    await _connect(client, tenant, provider)
    provider.state.tokens[0].revoked = True  # access and refresh token both dead
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    with pytest.raises(NodeFailure, match="must connect again"):
        await run_action(app, scope, "hubspot", "get_contact", {"contactId": "1"})
    shown = (await client.get(APP, headers=tenant.bearer)).json()
    assert shown["reauth_required"] is True and shown["connected"] is False
    assert shown["connected_accounts"][0]["status"] == "EXPIRED"
    async with app_state(app).db.reading() as session:
        events = (
            await session.scalars(
                select(NotificationDelivery.event).where(
                    NotificationDelivery.payload["org_id"].as_string() == tenant.org_id
                )
            )
        ).all()
    assert events == ["Connection Expired"]  # once, however many calls fail after


async def test_callback_refuses_unknown_state_and_state_is_single_use(
    client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await _configure(client, tenant, provider)
    forged = await client.get("/oauth/callback?state=forged&code=whatever")
    assert forged.status_code == 400 and "Unknown or expired" in forged.text
    started = await client.post(f"{APP}/connection", json={}, headers=tenant.bearer)
    provider_url = await open_start_page(client, started.json()["auth_url"])
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(provider_url)
    back = urlsplit(approved.headers["location"])
    assert (await client.get(f"{back.path}?{back.query}")).status_code == 200
    replay = await client.get(f"{back.path}?{back.query}")
    assert replay.status_code == 400


async def test_oauth_start_without_org_client_says_what_to_set(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(f"{APP}/connection", json={}, headers=tenant.bearer)
    body = assert_envelope(response, 400, "APP_NOT_CONFIGURED")
    assert "client_id" in body["message"]


async def test_return_url_must_be_on_an_allowed_origin_and_the_callback_goes_there(
    client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await _configure(client, tenant, provider)

    async def start(return_url: str) -> httpx.Response:
        body = {"return_url": return_url}
        return await client.post(f"{APP}/connection", json=body, headers=tenant.bearer)

    # No allowed origin yet: the callback must not become an open redirect.
    assert_envelope(await start("https://app.example/done"), 400, "RETURN_URL_NOT_ALLOWED")
    settings = await client.put(
        "/api/v2/public/org/settings",
        json={"allowed_origins": ["https://app.example"]},
        headers=tenant.org_key,
    )
    assert settings.status_code == 200, settings.text
    for elsewhere in (
        "https://evil.example/done",
        "https://app.example@evil.example/done",
        "https://app.example.evil.example/done",
        "http://app.example/done",
    ):
        assert_envelope(await start(elsewhere), 400, "RETURN_URL_NOT_ALLOWED")

    started = await start("https://app.example/done?tab=apps")
    assert started.status_code == 200, started.text
    provider_url = await open_start_page(client, started.json()["auth_url"])
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(provider_url)
    back = urlsplit(approved.headers["location"])
    done = await client.get(f"{back.path}?{back.query}")
    assert done.status_code == 303
    assert done.headers["location"] == "https://app.example/done?tab=apps"


async def _deny(client: httpx.AsyncClient, tenant: Tenant, body: dict) -> httpx.Response:
    """Start connecting, deny on the provider's consent page, land on Weft's callback."""
    started = await client.post(f"{APP}/connection", json=body, headers=tenant.bearer)
    assert started.status_code == 200, started.text
    provider_url = await open_start_page(client, started.json()["auth_url"])
    async with httpx.AsyncClient() as browser:
        denied = await browser.post(provider_url, data={"decision": "deny"})
    assert denied.status_code == 302, denied.text
    back = urlsplit(denied.headers["location"])
    assert parse_qs(back.query)["error"] == ["access_denied"]
    return await client.get(f"{back.path}?{back.query}")


async def test_a_denied_consent_tells_the_opener_and_forgets_the_state(
    client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await _configure(client, tenant, provider)
    provider.state.consent_page = True
    page = await _deny(client, tenant, {})
    assert page.status_code == 400
    assert "you did not allow access" in page.text
    # The editor's window that opened the popup learns which app, and why.
    assert '{"type": "weft-oauth", "app": "hubspot", "ok": false, "error": "access_denied"' in (
        page.text
    )
    assert "script-src 'nonce-" in page.headers["content-security-policy"]
    shown = (await client.get(APP, headers=tenant.bearer)).json()
    assert shown["connected"] is False
    async with app_state(client._transport.app).db.reading() as session:  # type: ignore[attr-defined]
        mine = select(OAuthState).where(OAuthState.org_id == tenant.org_id)
        assert (await session.scalars(mine)).all() == []

    # A hostile error code is not echoed; an unknown state still gets a page, not a 500.
    odd = await client.get("/oauth/callback?state=forged&error=%3Cscript%3Ealert(1)")
    assert odd.status_code == 400 and "<script>alert" not in odd.text
    assert '"app": null' in odd.text


async def test_a_denied_consent_sends_the_browser_back_to_the_return_url(
    client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await _configure(client, tenant, provider)
    provider.state.consent_page = True
    await client.put(
        "/api/v2/public/org/settings",
        json={"allowed_origins": ["https://app.example"]},
        headers=tenant.org_key,
    )
    page = await _deny(client, tenant, {"return_url": "https://app.example/done?tab=apps"})
    assert page.status_code == 303
    assert page.headers["location"] == "https://app.example/done?tab=apps&error=access_denied"


async def test_a_connection_the_callback_completes_is_in_the_audit_log(
    client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    await _configure(client, tenant, provider)
    await _connect(client, tenant, provider)
    read = await client.get("/api/v2/public/audit-log", headers=tenant.org_key)
    [completed] = [e for e in read.json()["docs"] if e["action"] == "complete OAuth connection"]
    assert completed["actor"] == "oauth_callback"
    assert completed["linked_account_id"] == tenant.account_id
    assert completed["target"] == {"slug": "hubspot"}
