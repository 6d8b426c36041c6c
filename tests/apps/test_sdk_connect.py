"""The SDK's connect and disconnect routes: key-based save, OAuth2 `auth_url`, disconnect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oauth_steps import open_start_page

from support import Tenant, assert_envelope

pytestmark = pytest.mark.integration

KEYS = {"base_url": "https://api.example.com", "header_name": "x-api-key", "api_key": "sk-123"}


async def test_save_connects_a_keybased_app_and_never_echoes_the_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    saved = await client.post("/api/v2/app/http/save", json=KEYS, headers=tenant.bearer)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"success": True}
    app = (await client.get("/api/v2/f-sdk/application/http", headers=tenant.bearer)).json()
    assert app["connected"] is True and "sk-123" not in str(app)
    gone = await client.delete("/api/v1/linked-acc/integration/http", headers=tenant.bearer)
    assert gone.status_code == 200 and gone.json() == {"success": True}
    again = await client.delete("/api/v1/linked-acc/integration/http", headers=tenant.bearer)
    assert_envelope(again, 404, "CONNECTION_NOT_FOUND")


async def test_save_refuses_missing_fields_and_unknown_apps(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    partial = {k: v for k, v in KEYS.items() if k != "api_key"}
    missing = await client.post("/api/v2/app/http/save", json=partial, headers=tenant.bearer)
    assert_envelope(missing, 400)
    unknown = await client.post("/api/v2/app/nope/save", json=KEYS, headers=tenant.bearer)
    assert_envelope(unknown, 404, "APP_NOT_FOUND")


async def test_integrate_answers_the_oauth2_authorize_url(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    configured = await client.put(
        "/api/v2/public/application/hubspot/settings",
        json={
            "authorize_url": "https://auth.example.com/authorize",
            "token_url": "https://auth.example.com/token",
            "client_id": "client-1",
            "client_secret": "shh",
        },
        headers=tenant.org_key,
    )
    assert configured.status_code == 200, configured.text
    response = await client.get("/api/v1/hubspot/integrate?x=1", headers=tenant.bearer)
    assert response.status_code == 200, response.text
    url = await open_start_page(client, response.json()["auth_url"])
    assert url.startswith("https://auth.example.com/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == ["client-1"] and query["state"][0]
    assert "shh" not in response.text
