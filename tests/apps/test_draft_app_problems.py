"""The draft's `problems` hold the app checks publish makes: unknown apps and actions, parameters
that break the action's schema, a missing or expired connection (docs/editor-api.md: the same
list). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from graphs import node
from support import Tenant

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"


def _start() -> dict[str, Any]:
    return node("1", "start", "Start", trigger="manual")


async def _draft(client: httpx.AsyncClient, tenant: Tenant, nodes: list[dict[str, Any]]) -> Any:
    created = await client.post(f"{BASE}/workflow", json={"name": "apps"}, headers=tenant.bearer)
    workflow_id = created.json()["workflow"]["associated_workflow"]
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    saved = await client.put(
        f"{BASE}/workflow/{workflow_id}/draft",
        json={"nodes": nodes, "edges": edges},
        headers=tenant.bearer,
    )
    assert saved.status_code == 200, saved.text
    return workflow_id, saved.json()


def _codes(draft: dict[str, Any]) -> set[tuple[str | None, str | None, str]]:
    return {(p["node_id"], p["field"], p["code"]) for p in draft["problems"]}


async def test_unknown_app_and_action_are_draft_problems(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    nodes = [
        _start(),
        node("2", "app_action", "Nowhere", app="no-such-app", action="x"),
        node("3", "app_action", "Typo", app="stripe", action="create_customerz"),
    ]
    workflow_id, draft = await _draft(client, tenant, nodes)
    assert _codes(draft) == {("2", "app", "UNKNOWN_APP"), ("3", "action", "UNKNOWN_ACTION")}
    opened = await client.get(f"{BASE}/workflow/{workflow_id}/edit", headers=tenant.bearer)
    assert _codes(opened.json()) == _codes(draft)


async def test_parameters_and_connection_problems_vanish_when_fixed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    step = node(
        "2",
        "app_action",
        "Charge",
        app="stripe",
        action="create_payment_intent",
        params={"amount": "ten", "description": "{{ trigger.note }}"},
    )
    workflow_id, draft = await _draft(client, tenant, [_start(), step])
    assert _codes(draft) == {
        ("2", "params.amount", "INVALID_PARAMETERS"),
        ("2", "params.currency", "INVALID_PARAMETERS"),
        ("2", "connection", "CONNECTION_REQUIRED"),
    }
    amount = next(p for p in draft["problems"] if p["field"] == "params.amount")
    assert "'ten' is not of type 'integer'" in amount["message"]
    assert "stripe.create_payment_intent" in amount["message"]

    # Publish refuses exactly these.
    published = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert published.status_code == 422
    assert {(p["node_id"], p["field"], p["code"]) for p in published.json()["errors"]} == _codes(
        draft
    )

    connected = await client.post(
        f"{BASE}/application/stripe/connection",
        json={"credentials": {"api_key": "sk_test_draft_problems"}},
        headers=tenant.bearer,
    )
    assert connected.status_code == 200, connected.text
    # A template stands for any value: only the run can tell whether it fits.
    step["data"]["params"] = {"amount": "{{ trigger.amount }}", "currency": "eur"}
    _, fixed = await _draft_save(client, tenant, workflow_id, [_start(), step])
    assert fixed["problems"] == []
    published = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert published.status_code == 200, published.text


async def test_keyless_apps_need_no_connection(client: httpx.AsyncClient, tenant: Tenant) -> None:
    definition = {
        "slug": "open-data",
        "name": "Open data",
        "auth": {"type": "none"},
        "base_url": "https://open-data.example",
        "actions": [
            {
                "name": "get_item",
                "label": "Get item",
                "method": "GET",
                "path": "/items/{id}",
                "parameters": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "string"}},
                },
                "effect": "read",
            }
        ],
    }
    defined = await client.post(f"{BASE}/application", json=definition, headers=tenant.org_key)
    assert defined.status_code == 200, defined.text
    step = node("2", "app_action", "Item", app="open-data", action="get_item", params={})
    _, draft = await _draft(client, tenant, [_start(), step])
    assert _codes(draft) == {("2", "params.id", "INVALID_PARAMETERS")}


async def _draft_save(
    client: httpx.AsyncClient, tenant: Tenant, workflow_id: str, nodes: list[dict[str, Any]]
) -> Any:
    edges = [{"id": "e0", "source": nodes[0]["id"], "target": nodes[1]["id"]}]
    saved = await client.put(
        f"{BASE}/workflow/{workflow_id}/draft",
        json={"nodes": nodes, "edges": edges},
        headers=tenant.bearer,
    )
    assert saved.status_code == 200, saved.text
    return workflow_id, saved.json()


async def test_an_http_step_signed_by_an_unconnected_app_is_a_draft_problem(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    signed = node("2", "http", "Balance", url="https://api.stripe.com/v1/balance")
    signed["data"]["connection"] = "stripe"
    plain = node("3", "http", "Plain", url="https://example.com/items")
    workflow_id, draft = await _draft(client, tenant, [_start(), signed, plain])
    assert _codes(draft) == {("2", "connection", "CONNECTION_REQUIRED")}
    assert "connect Stripe" in draft["problems"][0]["message"]

    connected = await client.post(
        f"{BASE}/application/stripe/connection",
        json={"credentials": {"api_key": "sk_test_http_signed"}},
        headers=tenant.bearer,
    )
    assert connected.status_code == 200, connected.text
    opened = await client.get(f"{BASE}/workflow/{workflow_id}/edit", headers=tenant.bearer)
    assert opened.json()["problems"] == []
