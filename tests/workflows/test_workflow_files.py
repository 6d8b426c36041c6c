"""Workflows as files through the API: a round trip keeps behaviour across orgs, a broken file
lists every problem with its path, another tenant's workflow is a 404, and nothing secret or
tied to one installation leaves in a file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from graphs import edge, node
from servers import RecordingServer
from support import Tenant, TenantFactory, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
TERMINAL = {"COMPLETED", "FAILED", "ERRORED", "CANCELLED"}


class PriceList(RecordingServer):
    def respond(self, request: Any) -> tuple[Any, ...]:
        return 200, {"items": [{"sku": "a", "price": 3}, {"sku": "b", "price": 4}]}


@pytest.fixture
def prices() -> Iterator[PriceList]:
    server = PriceList()
    yield server
    server.close()


def several_kinds(url: str) -> dict[str, Any]:
    """start -> http -> code -> condition -(true)-> transform -> respond, (false) -> respond."""
    nodes = [
        node("1", "start", "Start", trigger="manual", sample_payload={"n": 2}),
        node(
            "2",
            "http",
            "Prices",
            url=f"{url}/prices",
            headers={"Authorization": "Bearer {{ trigger.token }}", "X-Api-Key": "sk-live-1"},
        ),
        node(
            "3",
            "code",
            "Total",
            source="return input.nodes.prices.body.items.reduce((s, i) => s + i.price, 0)",
        ),
        node("4", "condition", "Big", expression="nodes.total > trigger.n"),
        node("5", "transform", "Label", value="{{ 'total ' & $string(nodes.total) }}"),
        node("6", "respond", "Reply", body={"label": "{{ nodes.label }}"}),
        node("7", "respond", "Small", body={"label": "small"}),
    ]
    edges = [
        edge("1", "2"),
        edge("2", "3"),
        edge("3", "4"),
        edge("4", "5", "true"),
        edge("4", "7", "false"),
        edge("5", "6"),
    ]
    return {"nodes": nodes, "edges": edges}


async def make_workflow(
    client: httpx.AsyncClient, headers: dict[str, str], graph: dict[str, Any], name: str
) -> str:
    created = await client.post(f"{BASE}/workflow", json={"name": name}, headers=headers)
    assert created.status_code == 200, created.text
    workflow_id = str(created.json()["workflow"]["associated_workflow"])
    saved = await client.put(f"{BASE}/workflow/{workflow_id}/draft", json=graph, headers=headers)
    assert saved.status_code == 200, saved.text
    published = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=headers
    )
    assert published.status_code == 200, published.text
    return workflow_id


async def run_steps(
    client: httpx.AsyncClient, headers: dict[str, str], workflow_id: str, payload: Any
) -> dict[str, Any]:
    """The outputs of a finished run's steps, by node id."""
    started = await client.post(
        f"{BASE}/workflow/{workflow_id}/execute", json={"payload": payload}, headers=headers
    )
    assert started.status_code == 200, started.text
    execution_id = started.json()["execution_id"]
    for _ in range(1500):
        body = (await client.get(f"{BASE}/execution/{execution_id}", headers=headers)).json()
        if body["status"] in TERMINAL:
            break
        await asyncio.sleep(0.02)
    assert body["status"] == "COMPLETED", body
    outputs = {step["node_id"]: step["latest_output"] for step in body["nodes"]}
    outputs["2"]["headers"].pop("date")  # the http step's answer: the one thing time changes
    return outputs


async def test_a_workflow_exported_and_imported_into_another_org_behaves_the_same(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: TenantFactory,
    engine: Engine,
    prices: PriceList,
) -> None:
    graph = several_kinds(prices.url)
    graph["nodes"][1]["data"]["headers"]["X-Api-Key"] = "{{ trigger.key }}"
    original = await make_workflow(client, tenant.bearer, graph, "Totals")
    payload = {"n": 2, "token": "t-1", "key": "k-1"}
    before = await run_steps(client, tenant.bearer, original, payload)
    assert before["6"]["body"] == {"label": "total 7"}, before

    exported = await client.get(f"{BASE}/workflow/{original}/export", headers=tenant.bearer)
    assert exported.status_code == 200, exported.text
    text = exported.text
    assert (
        text.endswith("}\n")
        and text == json.dumps(exported.json(), indent=2, sort_keys=True) + "\n"
    )
    assert tenant.org_id not in text and original not in text and tenant.account_id not in text

    other = await make_tenant("acct-b")
    imported = await client.post(
        f"{BASE}/workflow/import",
        content=text,
        headers={**other.bearer, "content-type": "application/json"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["draft"]["problems"] == []
    copy = imported.json()["workflow"]["_id"]
    published = await client.put(f"{BASE}/workflow/{copy}/publish", headers=other.bearer)
    assert published.status_code == 200, published.text
    after = await run_steps(client, other.bearer, copy, payload)
    assert after == before
    sent = [r.headers for r in prices.received]
    assert [h["authorization"] for h in sent] == ["Bearer t-1", "Bearer t-1"]
    again = await client.get(f"{BASE}/workflow/{copy}/export", headers=other.bearer)
    assert again.text == text, "a file survives the round trip byte for byte"


async def test_a_literal_secret_leaves_as_a_marker_and_the_marker_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    original = await make_workflow(client, tenant.bearer, several_kinds("http://x.test"), "S")
    exported = (
        await client.get(f"{BASE}/workflow/{original}/export", headers=tenant.bearer)
    ).json()
    headers = exported["nodes"][1]["data"]["headers"]
    assert headers == {"Authorization": "Bearer {{ trigger.token }}", "X-Api-Key": "[redacted]"}
    refused = await client.post(f"{BASE}/workflow/import", json=exported, headers=tenant.bearer)
    body = assert_envelope(refused, 422, "INVALID_WORKFLOW_FILE")
    assert body["errors"] == [
        {
            "path": '$.nodes[1].data.headers["X-Api-Key"]',
            "code": "REDACTED_VALUE",
            "message": body["errors"][0]["message"],
        }
    ]


async def test_a_broken_file_lists_every_problem_with_its_path(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    broken = {
        "format_version": 7,
        "name": "",
        "app": "no-such-app",
        "colour": "blue",
        "nodes": [
            {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
            {"id": "2", "type": "teleport", "name": "Beam"},
            {"id": "2", "type": "transform", "name": "Again", "data": {"value": 1}},
            "not a node",
        ],
        "edges": [{"source": "1", "target": "9"}, {"source": 5}],
        "settings": [],
    }
    refused = await client.post(f"{BASE}/workflow/import", json=broken, headers=tenant.bearer)
    body = assert_envelope(refused, 422, "INVALID_WORKFLOW_FILE")
    found = {(e["path"], e["code"]) for e in body["errors"]}
    assert found >= {
        ("$.colour", "UNKNOWN_FIELD"),
        ("$.format_version", "UNSUPPORTED_FORMAT"),
        ("$.name", "INVALID_FIELD"),
        ("$.settings", "INVALID_FIELD"),
        ("$.nodes[1].type", "UNKNOWN_NODE_TYPE"),
        ("$.nodes[2].id", "DUPLICATE_NODE_ID"),
        ("$.nodes[3]", "INVALID_NODE"),
        ("$.edges[0].target", "UNKNOWN_EDGE_ENDPOINT"),
        ("$.edges[1].source", "INVALID_EDGE"),
    }, body["errors"]
    listed = await client.get(f"{BASE}/workflow", headers=tenant.bearer)
    assert listed.json()["docs"] == [], "nothing was created"


async def test_a_well_formed_file_lists_every_publish_problem(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    nodes = [
        node("1", "start", "Start", trigger="manual"),
        node("2", "http", "Get", url="ftp://nowhere"),
        node("3", "transform", "Use", value="{{ nodes.missing }}"),
        node("4", "app_action", "Post", app="no-such-app", action="post"),
    ]
    file = {
        "format_version": 1,
        "name": "Broken",
        "app": "custom",
        "nodes": nodes,
        "edges": [edge("1", "2"), edge("2", "3"), edge("3", "4")],
    }
    refused = await client.post(f"{BASE}/workflow/import", json=file, headers=tenant.bearer)
    body = assert_envelope(refused, 422, "INVALID_WORKFLOW_FILE")
    found = {(e["path"], e["code"]) for e in body["errors"]}
    assert found >= {
        ("$.nodes[1].data.url", "INVALID_CONFIG"),
        ("$.nodes[2].data.value", "UNKNOWN_NODE_REFERENCE"),
        ("$.nodes[3].data.app", "UNKNOWN_APP"),
    }, body["errors"]


async def test_an_unconnected_app_is_a_draft_problem_not_an_error(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    file = {
        "format_version": 1,
        "name": "Post to Slack",
        "app": "slack",
        "nodes": [
            node("1", "start", "Start", trigger="manual"),
            node("2", "app_action", "Post", action="post_message", params={"channel": "C1"}),
        ],
        "edges": [edge("1", "2")],
    }
    imported = await client.post(f"{BASE}/workflow/import", json=file, headers=tenant.bearer)
    assert imported.status_code == 200, imported.text
    problems = imported.json()["draft"]["problems"]
    assert [p["code"] for p in problems] == ["CONNECTION_REQUIRED"], problems
    assert imported.json()["workflow"]["published"] is False
    refused = await client.post(
        f"{BASE}/workflow/import?publish=true", json=file, headers=tenant.bearer
    )
    body = assert_envelope(refused, 422, "INVALID_WORKFLOW_FILE")
    assert [(e["path"], e["code"]) for e in body["errors"]] == [
        ("$.nodes[1].data.connection", "CONNECTION_REQUIRED")
    ]


async def test_publish_on_import_makes_version_one_live(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    file = {
        "format_version": 1,
        "name": "Hello",
        "app": "custom",
        "nodes": [node("1", "start", "Start", trigger="manual")],
        "edges": [],
        "settings": {},
    }
    imported = await client.post(
        f"{BASE}/workflow/import?publish=true", json=file, headers=tenant.bearer
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["draft"] is None
    assert imported.json()["workflow"]["published"] is True
    assert imported.json()["workflow"]["current_version"] == 1


async def test_another_tenants_workflow_cannot_be_exported(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    mine = await make_workflow(client, tenant.bearer, several_kinds("http://x.test"), "Mine")
    other = await make_tenant("acct-b")
    neighbour = await make_tenant("acct-c", org_id=tenant.org_id)
    for headers in (other.bearer, other.org_key, neighbour.bearer, tenant.org_key):
        assert_envelope(
            await client.get(f"{BASE}/workflow/{mine}/export", headers=headers),
            404,
            "WORKFLOW_NOT_FOUND",
        )
    assert_envelope(await client.get(f"{BASE}/workflow/{mine}/export"), 401)


async def test_public_workflows_export_and_import_with_the_org_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    file = {
        "format_version": 1,
        "name": "Notify",
        "app": "slack",
        "nodes": [node("1", "start", "Start", trigger="event", event="lead.created")],
        "edges": [],
        "settings": {"data_slots": [{"name": "channel", "field_type": "text"}]},
    }
    imported = await client.post(
        f"{BASE}/workflow/import?publish=true", json=file, headers=tenant.org_key
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["workflow"]["scope"] == "public"
    workflow_id = imported.json()["workflow"]["_id"]
    exported = await client.get(f"{BASE}/workflow/{workflow_id}/export", headers=tenant.org_key)
    assert exported.json()["settings"] == file["settings"]
    assert_envelope(
        await client.get(f"{BASE}/workflow/{workflow_id}/export", headers=tenant.bearer), 404
    )
    private = await client.post(f"{BASE}/workflow/import", json=file, headers=tenant.bearer)
    body = assert_envelope(private, 422, "INVALID_WORKFLOW_FILE")
    assert ("$.settings", "DATA_SLOTS_NOT_ALLOWED") in {
        (e["path"], e["code"]) for e in body["errors"]
    }


async def test_a_webhook_workflow_leaves_without_its_secret_url(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    graph = {"nodes": [node("1", "start", "Start", trigger="webhook")], "edges": []}
    workflow_id = await make_workflow(client, tenant.bearer, graph, "Hook")
    path = (await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)).json()[
        "webhook_path"
    ]
    secret = path.rstrip("/").rsplit("/", 1)[-1]
    exported = await client.get(f"{BASE}/workflow/{workflow_id}/export", headers=tenant.bearer)
    assert len(secret) > 10 and secret not in exported.text
    imported = await client.post(
        f"{BASE}/workflow/import?publish=true", json=exported.json(), headers=tenant.bearer
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["workflow"]["webhook_path"] not in (None, path), "a URL of its own"
