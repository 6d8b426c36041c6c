"""Workflows and apps: app-level and account-level connections, publish checks, dataslots."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from actions_support import publish_chain
from fake_api import FakeApi

from engine.flows import run
from graphs import node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
OWN_KEY = "own-app-key-31337"
STRIPE_KEY = "sk_test_app_level_77"


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


def _start() -> dict:
    return node("1", "start", "Start", trigger="manual")


async def test_publish_reports_unknown_app_and_action_per_node(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    nodes = [
        _start(),
        node("2", "app_action", "Nowhere", app="no-such-app", action="x"),
        node("3", "app_action", "Typo", app="hubspot", action="create_contactz"),
        node("4", "http", "Signed", url="https://example.com", connection="nope"),
    ]
    published = await publish_chain(client, tenant, nodes)
    body = assert_envelope(published, 422)
    problems = {(p["node_id"], p["code"]) for p in body["errors"]}
    assert problems == {("2", "UNKNOWN_APP"), ("3", "UNKNOWN_ACTION"), ("4", "UNKNOWN_APP")}
    typo = next(p for p in body["errors"] if p["node_id"] == "3")
    assert typo["field"] == "action" and "create_contact" in typo["message"]


async def test_private_workflows_refuse_dataslots_clearly(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    nodes = [_start(), node("2", "transform", "Use slot", value="{{ dataslots.region }}")]
    published = await publish_chain(client, tenant, nodes)
    body = assert_envelope(published, 422)
    (problem,) = body["errors"]
    assert problem["code"] == "DATA_SLOTS_NOT_ALLOWED" and problem["node_id"] == "2"
    assert "private workflows cannot use dataslots" in problem["message"]
    created = await client.post(f"{BASE}/workflow", json={"name": "w"}, headers=tenant.bearer)
    workflow_id = created.json()["workflow"]["associated_workflow"]
    saved = await client.put(
        f"{BASE}/workflow/{workflow_id}/draft",
        json={"nodes": [_start()], "settings": {"data_slots": [{"name": "region"}]}},
        headers=tenant.bearer,
    )
    assert "dataslots" in assert_envelope(saved, 400, "DATA_SLOTS_NOT_ALLOWED")["message"]


async def test_app_level_workflow_uses_its_apps_connection(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, fake: FakeApi
) -> None:
    await client.put(
        f"{BASE}/application/stripe/settings", json={"base_url": fake.url}, headers=tenant.org_key
    )
    connected = await client.post(
        f"{BASE}/application/stripe/connection",
        json={"credentials": {"api_key": STRIPE_KEY}},
        headers=tenant.bearer,
    )
    assert connected.status_code == 200, connected.text
    fake.answer("GET", "/v1/customers/cus_7", {"id": "cus_7", "email": "a@b.co"})
    nodes = [
        _start(),
        node("2", "app_action", "Customer", action="get_customer", params={"customer": "cus_7"}),
    ]
    published = await publish_chain(client, tenant, nodes, slug="stripe")
    assert published.status_code == 200, published.text
    execution = await run(client, tenant, published.workflow_id)
    assert execution["status"] == "COMPLETED", execution
    (seen,) = fake.requests
    assert seen.headers["authorization"] == f"Bearer {STRIPE_KEY}"
    assert STRIPE_KEY not in str(execution)


async def test_account_level_workflow_uses_the_orgs_default_app(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, fake: FakeApi
) -> None:
    definition = {
        "slug": "custom",
        "name": "Acme API",
        "auth": {
            "type": "keybased",
            "fields": [{"name": "api_key", "label": "Acme key"}],
            "headers": {"X-Acme-Key": "{api_key}"},
        },
        "base_url": fake.url,
        "actions": [
            {
                "name": "list_orders",
                "label": "List orders",
                "method": "GET",
                "path": "/orders",
                "parameters": {"type": "object", "properties": {"status": {"type": "string"}}},
                "effect": "read",
            }
        ],
    }
    defined = await client.post(f"{BASE}/application", json=definition, headers=tenant.org_key)
    assert defined.status_code == 200, defined.text
    connected = await client.post(
        f"{BASE}/application/custom/connection",
        json={"credentials": {"api_key": OWN_KEY}},
        headers=tenant.bearer,
    )
    assert connected.status_code == 200, connected.text
    fake.answer("GET", "/orders", [{"id": 1}])
    nodes = [
        _start(),
        node("2", "app_action", "Orders", action="list_orders", params={"status": "open"}),
        node("3", "respond", "Answer", body="{{ nodes.orders }}"),
    ]
    published = await publish_chain(client, tenant, nodes)  # no slug: account-level
    assert published.status_code == 200, published.text
    execution = await run(client, tenant, published.workflow_id)
    assert execution["status"] == "COMPLETED", execution
    (seen,) = fake.requests
    assert seen.target == "/orders?status=open"
    assert seen.headers["x-acme-key"] == OWN_KEY


async def test_http_node_signs_with_a_named_connection(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, fake: FakeApi
) -> None:
    await client.post(
        f"{BASE}/application/stripe/connection",
        json={"credentials": {"api_key": STRIPE_KEY}},
        headers=tenant.bearer,
    )
    fake.answer("GET", "/v1/balance", {"available": []})
    nodes = [
        _start(),
        node("2", "http", "Balance", url=f"{fake.url}/v1/balance", connection="stripe"),
    ]
    published = await publish_chain(client, tenant, nodes)
    execution = await run(client, tenant, published.workflow_id)
    assert execution["status"] == "COMPLETED", execution
    assert fake.requests[0].headers["authorization"] == f"Bearer {STRIPE_KEY}"
    assert STRIPE_KEY not in str(execution)


async def test_run_node_alone_calls_the_app_with_the_connection(
    client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    await client.put(
        f"{BASE}/application/stripe/settings", json={"base_url": fake.url}, headers=tenant.org_key
    )
    await client.post(
        f"{BASE}/application/stripe/connection",
        json={"credentials": {"api_key": STRIPE_KEY}},
        headers=tenant.bearer,
    )
    fake.answer("GET", "/v1/customers/cus_3", {"id": "cus_3"})
    created = await client.post(f"{BASE}/workflow", json={"name": "w"}, headers=tenant.bearer)
    workflow_id = created.json()["workflow"]["associated_workflow"]
    nodes = [
        _start(),
        node(
            "2",
            "app_action",
            "Customer",
            app="stripe",
            action="get_customer",
            params={"customer": "{{ trigger.id }}"},
        ),
    ]
    edges = [{"source": "1", "target": "2", "sourceHandle": None}]
    await client.put(
        f"{BASE}/workflow/{workflow_id}/draft",
        json={"nodes": nodes, "edges": edges},
        headers=tenant.bearer,
    )
    ran = await client.post(
        f"{BASE}/workflow/{workflow_id}/nodes/2/run",
        json={"trigger": {"id": "cus_3"}},
        headers=tenant.bearer,
    )
    assert ran.status_code == 200, ran.text
    assert ran.json()["output"] == {"id": "cus_3"}
    assert STRIPE_KEY not in ran.text
