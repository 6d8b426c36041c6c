"""The private-workflow lifecycle: create, list, draft, publish, versions, restore, delete."""

from __future__ import annotations

import re

import httpx
import pytest

from support import Tenant, assert_envelope

pytestmark = pytest.mark.integration

BASE = "/api/v2/public/workflow"
HEX24 = re.compile(r"^[0-9a-f]{24}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def http_graph(url: str = "https://example.com/a") -> dict:
    return {
        "nodes": [
            {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
            {"id": "2", "type": "http", "name": "Fetch", "data": {"url": url}},
        ],
        "edges": [{"id": "e1-2", "source": "1", "target": "2"}],
    }


async def create(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> dict:
    response = await client.post(BASE, json={"name": "Lead Sync", **body}, headers=tenant.bearer)
    assert response.status_code == 200, response.text
    return response.json()["workflow"]


async def test_create_answers_exactly_as_refold(client: httpx.AsyncClient, tenant: Tenant) -> None:
    workflow = await create(client, tenant, slug="hubspot", description="d")
    assert HEX24.match(workflow["_id"]) and HEX24.match(workflow["associated_workflow"])
    assert workflow["_id"] != workflow["associated_workflow"]
    assert workflow["name"] == "Lead Sync"
    assert workflow["description"] == "d"
    assert workflow["published"] is False
    assert workflow["edges"] == []
    assert workflow["linked_account_id"] == tenant.account_id
    assert workflow["environment"] == "test"
    assert workflow["public_access_workflow"] is True
    assert workflow["org_id"] == tenant.org_id
    assert ISO.match(workflow["createdAt"]) and ISO.match(workflow["updatedAt"])
    (start,) = workflow["nodes"]
    assert {k: start[k] for k in ("id", "type", "name", "incoming_nodes", "outgoing_nodes")} == {
        "id": "1",
        "type": "start",
        "name": "Start",
        "incoming_nodes": [],
        "outgoing_nodes": [],
    }
    assert start["data"] is None


async def test_create_without_a_name_gives_a_default_name(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for body in ({}, {"slug": "hubspot"}):
        response = await client.post(BASE, json=body, headers=tenant.bearer)
        assert response.status_code == 200, response.text
        assert response.json()["workflow"]["name"] == "Untitled workflow"
    bare = await client.post(BASE, headers=tenant.bearer)
    assert bare.status_code == 200, bare.text


async def test_create_without_slug_uses_the_default_custom_app(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow = await create(client, tenant)
    got = await client.get(f"{BASE}/{workflow['associated_workflow']}", headers=tenant.bearer)
    assert got.json()["associated_application"]["slug"] == "custom"


async def test_create_by_application_id(client: httpx.AsyncClient, tenant: Tenant) -> None:
    slack = (await client.get("/api/v2/public/application/slack", headers=tenant.bearer)).json()
    workflow = await create(client, tenant, associated_application=slack["_id"])
    got = await client.get(f"{BASE}/{workflow['associated_workflow']}", headers=tenant.bearer)
    assert got.json()["associated_application"] == {
        "_id": slack["_id"],
        "name": "Slack",
        "slug": "slack",
    }


async def test_create_with_unknown_slug_is_app_not_found(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(BASE, json={"name": "x", "slug": "nope"}, headers=tenant.bearer)
    body = assert_envelope(response, 404, "APP_NOT_FOUND")
    assert "nope" in body["message"]


async def test_create_with_a_blank_name_names_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = assert_envelope(await client.post(BASE, json={"name": ""}, headers=tenant.bearer), 400)
    assert "name" in body["message"]


async def test_list_shapes_docs_as_refold(client: httpx.AsyncClient, tenant: Tenant) -> None:
    workflow = await create(client, tenant, slug="hubspot")
    listed = (await client.get(BASE, headers=tenant.bearer)).json()
    assert listed["totalDocs"] == 1 and listed["page"] == 1 and listed["totalPages"] == 1
    (doc,) = listed["docs"]
    assert doc["_id"] == workflow["associated_workflow"]
    assert doc["associated_application"]["slug"] == "hubspot"
    assert doc["associated_application"]["name"] == "Hubspot"
    assert HEX24.match(doc["associated_application"]["_id"])
    assert doc["slug"] == "hubspot"
    assert doc["is_v2"] is True
    assert doc["current_version"] == 0
    assert doc["published"] is False
    assert doc["org_id"] == tenant.org_id
    assert doc["linked_account_id"] == tenant.account_id
    assert doc["environment"] == "test"


async def test_list_paginates_at_page_boundaries(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = [
        (await create(client, tenant, name=f"w{i}"))["associated_workflow"] for i in range(7)
    ]
    newest_first = list(reversed(created))
    seen: list[str] = []
    for page in (1, 2, 3):
        body = (await client.get(f"{BASE}?limit=3&page={page}", headers=tenant.bearer)).json()
        assert body["totalDocs"] == 7 and body["totalPages"] == 3 and body["limit"] == 3
        assert body["page"] == page
        assert body["pagingCounter"] == (page - 1) * 3 + 1
        assert body["hasPrevPage"] is (page > 1)
        assert body["hasNextPage"] is (page < 3)
        assert body["prevPage"] == (page - 1 if page > 1 else None)
        assert body["nextPage"] == (page + 1 if page < 3 else None)
        seen += [d["_id"] for d in body["docs"]]
    assert seen == newest_first
    beyond = (await client.get(f"{BASE}?limit=3&page=4", headers=tenant.bearer)).json()
    assert beyond["docs"] == [] and beyond["hasNextPage"] is False
    exact = (await client.get(f"{BASE}?limit=7", headers=tenant.bearer)).json()
    assert exact["totalPages"] == 1 and exact["hasNextPage"] is False


async def test_list_rejects_out_of_range_paging(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for query in ("limit=0", "limit=101", "page=0", "page=abc"):
        assert_envelope(await client.get(f"{BASE}?{query}", headers=tenant.bearer), 400)


async def test_list_filters_by_slug_name_and_published(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    hub = await create(client, tenant, slug="hubspot", name="Hub one")
    await create(client, tenant, slug="slack", name="Slack one")
    await create(client, tenant, name="Plain")
    by_slug = (await client.get(f"{BASE}?slug=hubspot", headers=tenant.bearer)).json()
    assert [d["name"] for d in by_slug["docs"]] == ["Hub one"] and by_slug["totalDocs"] == 1
    by_name = (await client.get(f"{BASE}?name=ONE", headers=tenant.bearer)).json()
    assert {d["name"] for d in by_name["docs"]} == {"Hub one", "Slack one"}
    await client.put(
        f"{BASE}/{hub['_id']}/publish", json={"published": True}, headers=tenant.bearer
    )
    live = (await client.get(f"{BASE}?published=true", headers=tenant.bearer)).json()
    assert [d["name"] for d in live["docs"]] == ["Hub one"]
    none = (await client.get(f"{BASE}?slug=salesforce", headers=tenant.bearer)).json()
    assert none["docs"] == [] and none["totalDocs"] == 0


async def test_draft_edits_never_change_the_live_version_until_publish(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow = await create(client, tenant)
    wf_id = workflow["associated_workflow"]
    await client.put(
        f"{BASE}/{wf_id}/draft", json=http_graph("https://a.example"), headers=tenant.bearer
    )
    first = await client.put(
        f"{BASE}/{wf_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert first.json()["current_version"] == 1 and first.json()["published"] is True
    assert first.json()["_id"] == wf_id

    draft = (await client.get(f"{BASE}/{wf_id}/edit", headers=tenant.bearer)).json()
    assert draft["associated_workflow"] == wf_id and draft["_id"] != wf_id
    assert draft["nodes"][1]["data"]["url"] == "https://a.example"
    saved = await client.put(
        f"{BASE}/{wf_id}/draft", json=http_graph("https://b.example"), headers=tenant.bearer
    )
    assert saved.status_code == 200 and saved.json()["_id"] == draft["_id"]
    again = (await client.get(f"{BASE}/{wf_id}/edit", headers=tenant.bearer)).json()
    assert again["_id"] == draft["_id"]
    assert again["nodes"][1]["data"]["url"] == "https://b.example"

    live = (await client.get(f"{BASE}/{wf_id}", headers=tenant.bearer)).json()
    assert live["nodes"][1]["data"]["url"] == "https://a.example"
    assert live["current_version"] == 1

    second = await client.put(
        f"{BASE}/{draft['_id']}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert second.status_code == 200 and second.json()["current_version"] == 2
    live = (await client.get(f"{BASE}/{wf_id}", headers=tenant.bearer)).json()
    assert live["nodes"][1]["data"]["url"] == "https://b.example"
    assert live["nodes"][0]["outgoing_nodes"] == ["2"]
    assert live["nodes"][1]["incoming_nodes"] == ["1"]


async def test_discarding_the_draft_keeps_live_and_next_edit_starts_from_live(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wf_id = (await create(client, tenant))["associated_workflow"]
    await client.put(
        f"{BASE}/{wf_id}/draft", json=http_graph("https://a.example"), headers=tenant.bearer
    )
    await client.put(f"{BASE}/{wf_id}/publish", json={"published": True}, headers=tenant.bearer)
    await client.put(
        f"{BASE}/{wf_id}/draft", json=http_graph("https://b.example"), headers=tenant.bearer
    )
    discarded = await client.delete(f"{BASE}/{wf_id}/draft", headers=tenant.bearer)
    assert discarded.status_code == 200 and discarded.json()["draft_id"] is None
    draft = (await client.get(f"{BASE}/{wf_id}/edit", headers=tenant.bearer)).json()
    assert draft["nodes"][1]["data"]["url"] == "https://a.example"
    again = await client.delete(f"{BASE}/{wf_id}/draft", headers=tenant.bearer)
    assert again.status_code == 200
    assert_envelope(await client.delete(f"{BASE}/{wf_id}/draft", headers=tenant.bearer), 404)


async def test_publish_rejects_an_invalid_graph_listing_every_problem(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wf_id = (await create(client, tenant))["associated_workflow"]
    graph = {
        "nodes": [
            {"id": "1", "type": "start", "name": "Start"},
            {"id": "2", "type": "http", "name": "No url", "data": {"method": "FETCH"}},
            {"id": "3", "type": "transform", "name": "Orphan", "data": {"value": 1}},
            {"id": "4", "type": "code", "name": "Bad code", "data": {"timeout_ms": -5}},
        ],
        "edges": [{"source": "1", "target": "2"}, {"source": "2", "target": "4"}],
    }
    saved = await client.put(f"{BASE}/{wf_id}/draft", json=graph, headers=tenant.bearer)
    assert saved.status_code == 200, saved.text
    response = await client.put(
        f"{BASE}/{wf_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    body = assert_envelope(response, 422)
    problems = body["errors"]
    by_node: dict[str, list[dict]] = {}
    for problem in problems:
        by_node.setdefault(problem["node_id"], []).append(problem)
    assert set(by_node) >= {"2", "3", "4"}
    assert {p["field"] for p in by_node["2"]} >= {"url", "method"}
    assert {p["field"] for p in by_node["4"]} >= {"source", "timeout_ms"}
    assert any("reach" in p["message"].lower() for p in by_node["3"])
    still = (await client.get(f"{BASE}/{wf_id}", headers=tenant.bearer)).json()
    assert still["current_version"] == 0 and still["published"] is False


async def test_saving_a_malformed_draft_is_rejected_and_loses_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wf_id = (await create(client, tenant))["associated_workflow"]
    await client.put(f"{BASE}/{wf_id}/draft", json=http_graph(), headers=tenant.bearer)
    bad = {
        "nodes": [{"id": "1", "type": "start"}, {"id": "1", "type": "nope"}],
        "edges": [{"source": "1", "target": "9"}],
    }
    body = assert_envelope(
        await client.put(f"{BASE}/{wf_id}/draft", json=bad, headers=tenant.bearer), 400
    )
    assert body["error_code"] == "INVALID_GRAPH" and len(body["errors"]) >= 2
    draft = (await client.get(f"{BASE}/{wf_id}/edit", headers=tenant.bearer)).json()
    assert [n["type"] for n in draft["nodes"]] == ["start", "http"]


async def test_versions_list_restore_and_rollback(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wf_id = (await create(client, tenant))["associated_workflow"]
    for url in ("https://v1.example", "https://v2.example", "https://v3.example"):
        await client.put(f"{BASE}/{wf_id}/draft", json=http_graph(url), headers=tenant.bearer)
        await client.put(f"{BASE}/{wf_id}/publish", json={"published": True}, headers=tenant.bearer)
    listed = (await client.get(f"{BASE}/versions/{wf_id}?limit=2", headers=tenant.bearer)).json()
    assert [d["version"] for d in listed["docs"]] == [3, 2]
    assert listed["totalDocs"] == 3 and listed["hasNextPage"] is True
    assert listed["docs"][0]["live"] is True and listed["docs"][1]["live"] is False
    assert all(ISO.match(d["createdAt"]) and HEX24.match(d["_id"]) for d in listed["docs"])

    restored = await client.post(f"{BASE}/{wf_id}/versions/1/restore", headers=tenant.bearer)
    assert restored.status_code == 200
    assert restored.json()["nodes"][1]["data"]["url"] == "https://v1.example"
    live = (await client.get(f"{BASE}/{wf_id}", headers=tenant.bearer)).json()
    assert live["nodes"][1]["data"]["url"] == "https://v3.example"
    rolled = await client.put(
        f"{BASE}/{wf_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert rolled.json()["current_version"] == 4
    live = (await client.get(f"{BASE}/{wf_id}", headers=tenant.bearer)).json()
    assert live["nodes"][1]["data"]["url"] == "https://v1.example"
    missing = await client.post(f"{BASE}/{wf_id}/versions/9/restore", headers=tenant.bearer)
    assert_envelope(missing, 404, "VERSION_NOT_FOUND")


async def test_unpublish_takes_the_workflow_offline_and_a_draft_id_cannot(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create(client, tenant)
    wf_id, draft_id = created["associated_workflow"], created["_id"]
    await client.put(f"{BASE}/{draft_id}/publish", json={"published": True}, headers=tenant.bearer)
    draft_id = (await client.get(f"{BASE}/{wf_id}/edit", headers=tenant.bearer)).json()["_id"]
    refused = await client.put(
        f"{BASE}/{draft_id}/publish", json={"published": False}, headers=tenant.bearer
    )
    assert_envelope(refused, 400, "INVALID_WORKFLOW_ID")
    off = await client.put(
        f"{BASE}/{wf_id}/publish", json={"published": False}, headers=tenant.bearer
    )
    assert off.json()["published"] is False and off.json()["current_version"] == 1
    got = (await client.get(f"{BASE}/{wf_id}", headers=tenant.bearer)).json()
    assert got["published"] is False


async def test_rename_and_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    wf_id = (await create(client, tenant))["associated_workflow"]
    renamed = await client.patch(f"{BASE}/{wf_id}", json={"name": "New"}, headers=tenant.bearer)
    assert renamed.json()["name"] == "New"
    deleted = await client.delete(f"{BASE}/{wf_id}", headers=tenant.bearer)
    assert deleted.json() == {"success": True, "triggers_deregistered": 0}
    assert_envelope(await client.get(f"{BASE}/{wf_id}", headers=tenant.bearer), 404)
    assert (await client.get(BASE, headers=tenant.bearer)).json()["totalDocs"] == 0


async def test_unknown_and_malformed_ids_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for wf_id in ("0" * 24, "not-an-id", "x" * 300):
        assert_envelope(
            await client.get(f"{BASE}/{wf_id}", headers=tenant.bearer), 404, "WORKFLOW_NOT_FOUND"
        )
