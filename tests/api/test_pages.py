"""Human pages work offline: `/`, `/docs` and `/redoc` load nothing from outside the server."""

from __future__ import annotations

import gc
import re
import weakref

import httpx
import pytest

from support import Tenant, assert_envelope
from weft.api.deps import app_state
from weft.app import create_app
from weft.settings import Settings
from weft.store.db import Database

pytestmark = pytest.mark.integration

EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)


async def test_docs_and_redoc_load_their_assets_from_the_server(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = await client.get(page)
        assert html.status_code == 200, page
        assert not EXTERNAL.search(html.text), f"{page} loads something from outside"
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
        assets += re.findall(r"""url: ['"]([^'"]+)['"]""", html.text)
        assert any(a.endswith(".js") for a in assets), html.text
        for asset in assets:
            if asset.startswith("/") and not asset.endswith("openapi.json"):
                got = await client.get(asset)
                assert got.status_code == 200 and len(got.content) > 1000, asset
    assert "fonts.googleapis" not in (await client.get("/redoc")).text


async def test_home_links_docs_editor_and_health(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    for link in ('href="/docs"', 'href="/redoc"', 'href="/healthz"', "/workflows/"):
        assert link in home.text
    assert not EXTERNAL.search(home.text)
    for link in ("/docs", "/redoc", "/healthz", "/openapi.json"):
        assert (await client.get(link)).status_code == 200, link


async def test_publish_refuses_a_url_that_is_not_a_url(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    base = "/api/v2/public/workflow"
    created = (await client.post(base, headers=tenant.bearer)).json()["workflow"]
    workflow_id = created["associated_workflow"]
    graph = {
        "nodes": [
            {"id": "1", "type": "start", "data": {"trigger": "manual"}},
            {"id": "2", "type": "http", "data": {"url": "not a url"}},
            {"id": "3", "type": "http", "data": {"url": "{{ trigger.base }}/users"}},
            {"id": "4", "type": "http", "data": {"url": "https://{{ trigger.host }}/x"}},
        ],
        "edges": [
            {"source": "1", "target": "2"},
            {"source": "2", "target": "3"},
            {"source": "3", "target": "4"},
        ],
    }
    await client.put(f"{base}/{workflow_id}/draft", json=graph, headers=tenant.bearer)
    refused = await client.put(f"{base}/{workflow_id}/publish", headers=tenant.bearer)
    body = assert_envelope(refused, 422, "INVALID_WORKFLOW_GRAPH")
    assert [(e["node_id"], e["field"]) for e in body["errors"]] == [("2", "url")]
    assert "http://" in body["errors"][0]["message"]


async def test_an_app_served_and_dropped_is_freed(settings: Settings, db: Database) -> None:
    """Nothing process-wide keeps an app alive: FastAPI caches what it learns of each endpoint by
    the function's identity, and per-app closures (the docs pages were) kept every app a process
    built, ~10,000 objects each, which every later full garbage collection walked."""
    app = create_app(settings, db=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://weft.test") as http:
        for page in ("/", "/docs", "/redoc", "/openapi.json"):
            assert (await http.get(page)).status_code == 200, page
    await app_state(app).services.close()
    freed = weakref.ref(app)
    del app, transport, http
    gc.collect()
    assert freed() is None, [type(r).__name__ for r in gc.get_referrers(freed())][:10]
