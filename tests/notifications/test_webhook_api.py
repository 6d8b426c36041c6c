"""The `/webhook` routes: an org registers, lists and deletes its notification webhooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from support import Tenant, assert_envelope
from weft.notifications.crypto import signing_box
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import NotificationSubscription

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
URL = "https://hooks.example.com/weft"
UNAUTHORIZED = "SERVER_ERROR"  # Refold's code for bad credentials (weft.errors.Unauthorized)


async def create(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(
        f"{BASE}/webhook",
        json=body or {"webhook_url": URL, "webhook_events": ["Workflow Completed"]},
        headers=tenant.org_key,
    )


async def test_org_creates_lists_and_deletes_a_webhook(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create(client, tenant)
    assert created.status_code == 200, created.text
    hook = created.json()
    assert hook["webhook_url"] == hook["url"] == URL
    assert hook["webhook_events"] == ["Workflow Completed"]
    assert hook["is_enabled"] is True and hook["webhook_type"] == "default"
    assert hook["environment"] == "test" and hook["associated_org"] == tenant.org_id
    assert hook["secret"].startswith("whsec_") and hook["createdAt"].endswith("Z")

    listed = await client.get(f"{BASE}/webhook", headers=tenant.org_key)
    assert listed.status_code == 200
    page = listed.json()
    assert page["totalDocs"] == 1 and page["page"] == 1 and page["hasNextPage"] is False
    assert [doc["_id"] for doc in page["docs"]] == [hook["_id"]]
    assert "secret" not in page["docs"][0]

    deleted = await client.delete(f"{BASE}/webhook/{hook['_id']}", headers=tenant.org_key)
    assert deleted.status_code == 200 and deleted.json() == {"success": True, "_id": hook["_id"]}
    assert (await client.get(f"{BASE}/webhook", headers=tenant.org_key)).json()["docs"] == []
    again = await client.delete(f"{BASE}/webhook/{hook['_id']}", headers=tenant.org_key)
    assert_envelope(again, 404, "WEBHOOK_NOT_FOUND")


async def test_list_pages_newest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = [(await create(client, tenant)).json()["_id"] for _ in range(3)]
    first = (await client.get(f"{BASE}/webhook?limit=2", headers=tenant.org_key)).json()
    second = (await client.get(f"{BASE}/webhook?limit=2&page=2", headers=tenant.org_key)).json()
    assert [d["_id"] for d in first["docs"] + second["docs"]] == ids[::-1]
    assert (first["totalPages"], first["nextPage"], second["prevPage"]) == (2, 2, 1)


async def test_webhook_routes_take_the_org_key_only(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    hook_id = (await create(client, tenant)).json()["_id"]
    body = {"webhook_url": URL, "webhook_events": ["Workflow Errored"]}
    for headers in (tenant.bearer, {}, {"x-api-key": "weft_test_nope"}):
        answers = [
            await client.post(f"{BASE}/webhook", json=body, headers=headers),
            await client.get(f"{BASE}/webhook", headers=headers),
            await client.delete(f"{BASE}/webhook/{hook_id}", headers=headers),
        ]
        for answer in answers:
            assert_envelope(answer, 401, UNAUTHORIZED)


async def test_another_org_or_environment_cannot_see_or_delete_a_webhook(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Awaitable[Tenant]]
) -> None:
    hook_id = (await create(client, tenant)).json()["_id"]
    other = await make_tenant()
    production = {"x-api-key": tenant.keys["production"]}
    for headers in (other.org_key, production):
        assert (await client.get(f"{BASE}/webhook", headers=headers)).json()["totalDocs"] == 0
        denied = await client.delete(f"{BASE}/webhook/{hook_id}", headers=headers)
        assert_envelope(denied, 404, "WEBHOOK_NOT_FOUND")
    still = (await client.get(f"{BASE}/webhook", headers=tenant.org_key)).json()
    assert [d["_id"] for d in still["docs"]] == [hook_id]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"webhook_url": "ftp://example.com/x", "webhook_events": ["Workflow Completed"]},
         "INVALID_WEBHOOK_URL"),
        ({"webhook_url": "not a url", "webhook_events": ["Workflow Completed"]},
         "INVALID_WEBHOOK_URL"),
        ({"webhook_url": "https://", "webhook_events": ["Workflow Completed"]},
         "INVALID_WEBHOOK_URL"),
        ({"webhook_url": URL, "webhook_events": ["Workflow Exploded"]}, "INVALID_WEBHOOK_EVENT"),
        ({"webhook_url": URL, "webhook_events": []}, "INVALID_WEBHOOK_EVENT"),
        ({"webhook_url": URL, "webhook_events": "Workflow Completed"}, "INVALID_INPUT"),
        ({"webhook_events": ["Workflow Completed"]}, "INVALID_INPUT"),
        ({"webhook_url": URL, "webhook_events": ["Workflow Completed"], "webhook_type": "slack"},
         "INVALID_INPUT"),
    ],
)  # fmt: skip
async def test_bad_url_or_unknown_event_is_rejected_with_the_envelope(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], code: str
) -> None:
    answer = await client.post(f"{BASE}/webhook", json=body, headers=tenant.org_key)
    envelope = assert_envelope(answer, 400, code)
    assert "webhook_" in envelope["message"]


async def test_short_field_names_and_refold_event_slugs_are_accepted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "url": URL,
        "events": [
            "workflow-completed",
            "Workflow Errored",
            "connected-created",
            "WORKFLOW ERRORED",
        ],
        "is_enabled": False,
    }
    hook = (await create(client, tenant, body)).json()
    assert hook["events"] == ["Workflow Completed", "Workflow Errored", "Connection Created"]
    assert hook["is_enabled"] is False


async def test_signing_secret_is_stored_sealed_and_opens_with_the_deployment_key(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, settings: Settings
) -> None:
    hook = (await create(client, tenant)).json()
    async with db.transaction() as session:
        row = await session.get(NotificationSubscription, hook["_id"])
    assert row is not None and hook["secret"] not in row.secret_sealed
    box = signing_box(settings)
    assert box.open(row.secret_sealed, context=row.id) == hook["secret"]
