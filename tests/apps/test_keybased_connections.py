"""Key-based connections through the API: connect, see it connected, disconnect."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from support import Tenant, assert_envelope
from weft.apps.connections import connection_status, list_connections, save_keybased_connection
from weft.store.db import Database
from weft.store.scope import account_scope
from weft.store.tables import Connection, LinkedAccount

pytestmark = pytest.mark.integration

STRIPE_KEY = "sk_test_51SuperSecretValue0001"


async def _connect_stripe(client: httpx.AsyncClient, tenant: Tenant) -> httpx.Response:
    return await client.post(
        "/api/v2/public/application/stripe/connection",
        json={"credentials": {"api_key": STRIPE_KEY}},
        headers=tenant.bearer,
    )


async def test_application_list_answers_refold_shape_with_every_shipped_app(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/v2/public/application", headers=tenant.bearer)
    assert response.status_code == 200, response.text
    apps = {app["slug"]: app for app in response.json()}
    shipped = {"hubspot", "salesforce", "slack", "github", "stripe", "google-sheets", "notion"}
    assert shipped | {"http", "custom"} <= set(apps)
    stripe = apps["stripe"]
    assert stripe["auth_type"] == "keybased"
    assert stripe["auth_type_options"]["keybased"][0]["name"] == "api_key"
    assert stripe["connected"] is False and stripe["connected_accounts"] == []
    assert stripe["reauth_required"] is False
    assert stripe["icon"].endswith("/app-icons/stripe.svg")
    assert apps["hubspot"]["auth_type"] == "oauth2"
    assert all(len(apps[slug]["actions"]) >= 3 for slug in shipped | {"http"})
    icon = await client.get("/app-icons/stripe.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


async def test_keybased_connect_shows_connected_without_the_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    connected = await _connect_stripe(client, tenant)
    assert connected.status_code == 200, connected.text
    assert connected.json()["connected"] is True
    assert STRIPE_KEY not in connected.text
    one = await client.get("/api/v2/public/application/stripe", headers=tenant.bearer)
    body = one.json()
    assert body["connected"] is True and body["reauth_required"] is False
    assert body["connected_accounts"][0]["auth_type"] == "keybased"
    assert body["connected_accounts"][0]["identifier"] == "…0001"
    assert STRIPE_KEY not in one.text


async def test_keybased_connect_rejects_missing_and_unknown_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    path = "/api/v2/public/application/stripe/connection"
    missing = await client.post(path, json={"credentials": {}}, headers=tenant.bearer)
    assert "api_key" in assert_envelope(missing, 400)["message"]
    unknown = await client.post(
        path, json={"credentials": {"api_key": "x", "extra": "y"}}, headers=tenant.bearer
    )
    assert "extra" in assert_envelope(unknown, 400)["message"]
    nowhere = await client.post(
        "/api/v2/public/application/nope/connection", json={}, headers=tenant.bearer
    )
    assert_envelope(nowhere, 404, "APP_NOT_FOUND")


async def test_disconnect_removes_the_connection(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _connect_stripe(client, tenant)
    path = "/api/v2/public/application/stripe/connection"
    gone = await client.delete(path, headers=tenant.bearer)
    assert gone.status_code == 200 and gone.json()["success"] is True
    again = await client.delete(path, headers=tenant.bearer)
    assert_envelope(again, 404, "CONNECTION_NOT_FOUND")
    one = await client.get("/api/v2/public/application/stripe", headers=tenant.bearer)
    assert one.json()["connected"] is False


async def test_connections_are_sealed_and_private_to_their_linked_account(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, settings
) -> None:
    await _connect_stripe(client, tenant)
    other = await client.get(
        "/api/v2/public/application/stripe", headers=tenant.as_org("someone-else-entirely")
    )
    # An unknown linked account is a 404; a known other one sees no connection.
    assert other.status_code in (200, 404)
    async with db.reading() as session:
        row = (await session.scalars(select(Connection))).all()
        sealed = [r.credentials_sealed for r in row]
        account = await session.scalar(
            select(LinkedAccount).where(
                LinkedAccount.org_id == tenant.org_id,
                LinkedAccount.account_id == tenant.account_id,
            )
        )
        scope = account_scope(account)
        assert await connection_status(scope, "stripe", session=session) == "connected"
        assert set(await list_connections(scope, session=session)) == {"stripe"}
    assert sealed and all(STRIPE_KEY not in value for value in sealed)


async def test_save_keybased_connection_replaces_the_earlier_key(
    tenant: Tenant, db: Database, settings
) -> None:
    async with db.transaction() as session:
        account = await session.scalar(
            select(LinkedAccount).where(LinkedAccount.org_id == tenant.org_id)
        )
        scope = account_scope(account)
        await save_keybased_connection(
            scope, "stripe", {"api_key": "sk_one_1111"}, session=session, settings=settings
        )
        info = await save_keybased_connection(
            scope, "stripe", {"api_key": "sk_two_2222"}, session=session, settings=settings
        )
        assert info.identifier == "…2222"
        assert len(await list_connections(scope, session=session)) == 1


async def test_connect_and_disconnect_notify_the_orgs_webhooks(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    from weft.store.tables import NotificationDelivery

    subscribed = await client.post(
        "/api/v2/public/webhook",
        json={
            "webhook_url": "https://hooks.example.com/weft",
            "webhook_events": ["Connection Created", "Connection Deleted"],
        },
        headers=tenant.org_key,
    )
    assert subscribed.status_code == 200, subscribed.text
    await _connect_stripe(client, tenant)
    await client.delete("/api/v2/public/application/stripe/connection", headers=tenant.bearer)
    async with db.reading() as session:
        rows = (
            await session.scalars(
                select(NotificationDelivery).where(
                    NotificationDelivery.payload["org_id"].as_string() == tenant.org_id
                )
            )
        ).all()
    events = sorted(row.event for row in rows)
    assert events == ["Connection Created", "Connection Deleted"]
    payload = next(row.payload for row in rows if row.event == "Connection Created")
    assert payload["linked_account_id"] == tenant.account_id and payload["slug"] == "stripe"
    assert all(STRIPE_KEY not in str(row.payload) for row in rows)
