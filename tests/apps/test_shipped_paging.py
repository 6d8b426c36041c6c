"""Each shipped list action pages through its vendor's own answer shape (server on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from actions_support import connect_with_key, connect_with_token, run_action, scope_of
from fake_api import FakeApi
from fastapi import FastAPI
from paged_api import ITEMS, after_last_item, link_header, next_cursor, next_records_url

from support import Tenant

pytestmark = pytest.mark.integration

QUERY = "/services/data/v60.0/query"


def _serve(fake: FakeApi, slug: str) -> tuple[str, dict[str, Any]]:
    """Serve `slug`'s list action; (action, params)."""
    if slug == "stripe":
        fake.answer("GET", "/v1/charges", after_last_item)
        return "list_charges", {}
    if slug == "github":
        fake.answer("GET", "/user/repos", link_header(fake.url, "/user/repos"))
        return "list_repos", {}
    if slug == "hubspot":
        path = "/crm/v3/objects/contacts/search"
        fake.answer("POST", path, next_cursor("results", "after", "paging.next.after"))
        return "search_contacts", {"filterGroups": []}
    if slug == "notion":
        fake.answer(
            "POST", "/v1/databases/d1/query", next_cursor("results", "start_cursor", "next_cursor")
        )
        return "query_database", {"database_id": "d1"}
    if slug == "slack":
        fake.answer(
            "GET",
            "/conversations.list",
            next_cursor("channels", "cursor", "response_metadata.next_cursor"),
        )
        return "list_channels", {}
    for path in (QUERY, f"{QUERY}/01g-2", f"{QUERY}/01g-4"):
        fake.answer("GET", path, next_records_url(QUERY))
    return "query", {"q": "SELECT Id FROM Account"}


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


@pytest.mark.parametrize("slug", ["stripe", "github", "hubspot", "notion", "slack", "salesforce"])
async def test_shipped_list_action_gathers_every_page(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, slug: str
) -> None:
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    if slug == "stripe":
        await connect_with_key(app, scope, slug, {"api_key": "sk_test_1"})
    else:
        await connect_with_token(app, scope, slug, "token-1")
    pointed = await client.put(
        f"/api/v2/public/application/{slug}/settings",
        json={"base_url": fake.url},
        headers=tenant.org_key,
    )
    assert pointed.status_code == 200, pointed.text
    action, params = _serve(fake, slug)

    result = await run_action(app, scope, slug, action, params, options={"all_pages": True})

    assert result.output == {"items": ITEMS, "pages": 3, "more": False}
    assert len(fake.requests) == 3
    # Every page is signed, the later ones (a Link or nextRecordsUrl) included.
    assert all(r.headers.get("authorization") for r in fake.requests)


async def test_the_application_list_says_which_actions_page(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/v2/public/application", headers=tenant.bearer)
    assert response.status_code == 200, response.text
    stripe = next(app for app in response.json() if app["slug"] == "stripe")
    paged = {action["name"]: action["paginated"] for action in stripe["actions"]}
    assert paged["list_charges"] is True
    assert paged["get_customer"] is False
