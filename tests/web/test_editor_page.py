"""The editor page: who may open it, what it serves, and the headers that keep it in its frame."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from support import Tenant, TenantFactory
from weft.clock import now
from weft.store.db import Database
from weft.store.scope import OrgScope
from weft.store.tables import SessionToken
from weft.tenancy.secrets import hash_secret
from weft.tenancy.tokens import revoke_session_tokens
from weft.web import page

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"


@pytest.fixture
def built_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the Vite build, so these tests do not depend on the committed bundle."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(
        '<!doctype html><html><head><script type="module" src="/editor/assets/app-1a2b.js">'
        '</script></head><body><div id="root"></div></body></html>'
    )
    (dist / "assets" / "app-1a2b.js").write_text("console.log('editor')")
    (tmp_path / "secret.txt").write_text("outside the bundle")
    monkeypatch.setattr(page, "DIST_DIR", dist)
    monkeypatch.setattr(page, "ASSETS_DIR", dist / "assets")
    return dist


async def new_workflow(client: httpx.AsyncClient, tenant: Tenant) -> str:
    created = await client.post(f"{BASE}/workflow", json={"name": "w"}, headers=tenant.bearer)
    return str(created.json()["workflow"]["associated_workflow"])


def injected_config(html: str) -> dict:
    match = re.search(r"window\.__WEFT__ = (\{.*?\});</script>", html)
    assert match, html
    return json.loads(match.group(1))


def assert_html_page(response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f'data-weft-error="{reason}"' in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


async def test_owner_gets_the_app_with_its_config_and_guarding_headers(
    client: httpx.AsyncClient, tenant: Tenant, built_bundle: Path
) -> None:
    await client.put(
        f"{BASE}/org/settings",
        json={"allowed_origins": ["https://host.example", "http://localhost:5173"]},
        headers=tenant.org_key,
    )
    workflow_id = await new_workflow(client, tenant)

    response = await client.get(f"/workflows/{workflow_id}", params={"token": tenant.token})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    config = injected_config(response.text)
    assert config["workflowId"] == workflow_id
    assert config["apiBase"] == BASE
    assert config["allowedOrigins"] == ["https://host.example", "http://localhost:5173"]
    assert config["tokenExpiresAt"].endswith("Z")
    assert tenant.token not in response.text  # the app reads it from its own URL, not the page
    assert response.text.index("__WEFT__") < response.text.index("</head>")
    assert '<div id="root">' in response.text
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://host.example http://localhost:5173;" in csp
    assert "default-src 'self'" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
    assert f'<script nonce="{nonce}">window.__WEFT__' in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_without_allowed_origins_only_the_server_itself_may_frame(
    client: httpx.AsyncClient, tenant: Tenant, built_bundle: Path
) -> None:
    workflow_id = await new_workflow(client, tenant)
    response = await client.get(f"/workflows/{workflow_id}", params={"token": tenant.token})
    assert "frame-ancestors 'self';" in response.headers["content-security-policy"]
    first = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    again = await client.get(f"/workflows/{workflow_id}", params={"token": tenant.token})
    second = re.search(r"'nonce-([^']+)'", again.headers["content-security-policy"])
    assert first and second and first.group(1) != second.group(1)


async def test_the_draft_id_opens_the_same_workflow(
    client: httpx.AsyncClient, tenant: Tenant, built_bundle: Path
) -> None:
    created = await client.post(f"{BASE}/workflow", json={"name": "w"}, headers=tenant.bearer)
    draft = created.json()["workflow"]
    response = await client.get(f"/workflows/{draft['_id']}", params={"token": tenant.token})
    assert injected_config(response.text)["workflowId"] == draft["associated_workflow"]


async def test_missing_and_unknown_tokens_get_a_401_page(
    client: httpx.AsyncClient, tenant: Tenant, built_bundle: Path
) -> None:
    workflow_id = await new_workflow(client, tenant)
    assert_html_page(await client.get(f"/workflows/{workflow_id}"), 401, "missing_token")
    bad = await client.get(f"/workflows/{workflow_id}", params={"token": "wst_nope"})
    assert_html_page(bad, 401, "invalid_token")
    assert "not valid" in bad.text
    huge = await client.get(f"/workflows/{workflow_id}", params={"token": "x" * 5000})
    assert_html_page(huge, 401, "invalid_token")


async def test_expired_token_gets_a_401_page_saying_so(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, built_bundle: Path
) -> None:
    workflow_id = await new_workflow(client, tenant)
    async with db.transaction() as session:
        await session.execute(
            update(SessionToken)
            .where(SessionToken.token_hash == hash_secret(tenant.token))
            .values(expires_at=now() - timedelta(seconds=1))
        )
    response = await client.get(f"/workflows/{workflow_id}", params={"token": tenant.token})
    assert_html_page(response, 401, "expired_token")
    assert "expired" in response.text


async def test_revoked_token_gets_a_401_page(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, built_bundle: Path
) -> None:
    workflow_id = await new_workflow(client, tenant)
    async with db.transaction() as session:
        scope = OrgScope(tenant.org_id, "test")
        assert await revoke_session_tokens(scope, token=tenant.token, session=session) == 1
    response = await client.get(f"/workflows/{workflow_id}", params={"token": tenant.token})
    assert_html_page(response, 401, "revoked_token")


async def test_another_accounts_or_an_absent_workflow_gets_a_403_page(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, built_bundle: Path
) -> None:
    workflow_id = await new_workflow(client, tenant)
    neighbour = await make_tenant("acct-b", org_id=tenant.org_id)
    stranger = await make_tenant("acct-a")  # same account id, another org
    for other in (neighbour, stranger):
        response = await client.get(f"/workflows/{workflow_id}", params={"token": other.token})
        assert_html_page(response, 403, "forbidden")
        assert "__WEFT__" not in response.text
    absent = await client.get("/workflows/" + "0" * 24, params={"token": tenant.token})
    assert_html_page(absent, 403, "forbidden")
    odd = await client.get("/workflows/not-an-id", params={"token": tenant.token})
    assert_html_page(odd, 403, "forbidden")


async def test_error_pages_of_a_known_org_may_be_framed_by_its_hosts(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, built_bundle: Path
) -> None:
    await client.put(
        f"{BASE}/org/settings",
        json={"allowed_origins": ["https://host.example"]},
        headers=tenant.org_key,
    )
    neighbour = await make_tenant("acct-b", org_id=tenant.org_id)
    workflow_id = await new_workflow(client, tenant)
    response = await client.get(f"/workflows/{workflow_id}", params={"token": neighbour.token})
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://host.example;" in csp
    assert "default-src 'none'" in csp


async def test_a_missing_bundle_serves_a_placeholder(
    client: httpx.AsyncClient, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "DIST_DIR", tmp_path / "absent")
    workflow_id = await new_workflow(client, tenant)
    response = await client.get(f"/workflows/{workflow_id}", params={"token": tenant.token})
    assert response.status_code == 200
    assert "make ui" in response.text
    assert injected_config(response.text)["workflowId"] == workflow_id


async def test_bundle_assets_are_served_and_cached_but_nothing_outside(
    client: httpx.AsyncClient, built_bundle: Path
) -> None:
    asset = await client.get("/editor/assets/app-1a2b.js")
    assert asset.status_code == 200 and asset.text == "console.log('editor')"
    assert asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    assert asset.headers["x-content-type-options"] == "nosniff"
    head = await client.head("/editor/assets/app-1a2b.js")
    assert head.status_code == 200 and head.content == b""
    for path in ("/editor/assets/../../secret.txt", "/editor/assets/%2e%2e/%2e%2e/secret.txt"):
        assert (await client.get(path)).status_code == 404
    assert (await client.get("/editor/assets/missing.js")).status_code == 404


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
def test_config_json_cannot_close_the_script_element() -> None:
    html = page.inject_config(
        "<html><head></head></html>", {"name": "</script><script>alert(1)</script>"}, "n"
    )
    assert "</script><script>alert" not in html
    assert html.count("</script>") == 1
