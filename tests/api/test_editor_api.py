"""The editor's API: node types from the engine's models, draft revisions, problems, versions."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from support import Tenant, TenantFactory, assert_envelope
from weft.nodes import NODE_TYPES, parse_node_config

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
START = {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}}
NOTE = {"id": "2", "type": "transform", "name": "Note", "data": {"value": "{{ trigger.x }}"}}
EDGE = {"id": "e1", "source": "1", "target": "2"}


async def new_workflow(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    created = await client.post(f"{BASE}/workflow", json={"name": "w"}, headers=tenant.bearer)
    return dict(created.json()["workflow"])


async def save(
    client: httpx.AsyncClient, tenant: Tenant, workflow_id: str, **body: Any
) -> httpx.Response:
    body.setdefault("nodes", [START, NOTE])
    body.setdefault("edges", [EDGE])
    return await client.put(
        f"{BASE}/workflow/{workflow_id}/draft", json=body, headers=tenant.bearer
    )


async def test_node_types_cover_every_engine_type_with_valid_defaults(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(f"{BASE}/node-types", headers=tenant.bearer)
    assert response.status_code == 200, response.text
    types = {t["type"]: t for t in response.json()["node_types"]}
    assert set(types) == set(NODE_TYPES)
    for name, described in types.items():
        assert described["label"] and described["description"], name
        assert described["category"] in {"trigger", "action", "logic", "flow", "ai"}
        schema = described["schema"]
        assert {"retry", "on_error", "timeout_s"} <= set(schema["properties"]), name
        jsonschema.Draft202012Validator.check_schema(schema)
        defaults = described["defaults"]
        parse_node_config(name, defaults)  # the engine accepts the starting data
        jsonschema.validate(defaults, schema)  # and so does the schema the form is built from
    assert types["http"]["effect"] == "depends"
    assert types["http"]["write_when"] == {"method": ["POST", "PUT", "PATCH", "DELETE"]}
    assert set(types["http"]["expression_fields"]) == {"url", "headers", "query", "body"}
    assert types["condition"]["branches"] == "cases"
    assert types["condition"]["bare_expression_fields"] == ["expression", "cases[].expression"]
    assert types["loop"]["branches"] == ["body"]
    assert types["start"]["category"] == "trigger"
    assert types["ai"]["schema"]["properties"]["json"]["title"] == "Answer JSON"
    assert types["http"]["schema"]["properties"]["timeout_s"]["title"] == "Time limit (seconds)"


def _enum_properties(schema: Any) -> list[dict[str, Any]]:
    """Every property schema with `enum` choices, anywhere in `schema` (`$defs` included)."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        for prop in (schema.get("properties") or {}).values():
            if isinstance(prop, dict) and "x-option-labels" in prop:
                found.append(prop)
        for value in schema.values():
            found += _enum_properties(value)
    elif isinstance(schema, list):
        for item in schema:
            found += _enum_properties(item)
    return found


async def test_node_types_label_their_choices_and_hide_fields_that_do_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(f"{BASE}/node-types", headers=tenant.bearer)
    types = {t["type"]: t for t in response.json()["node_types"]}
    on_error = types["http"]["schema"]["properties"]["on_error"]
    assert set(on_error["x-option-labels"]) == set(on_error["enum"])
    for name, described in types.items():
        for prop in _enum_properties(described["schema"]):
            choices = prop.get("enum") or [prop.get("const")]
            assert set(choices) <= set(prop["x-option-labels"]), (name, prop)
    # The trigger is not a step that runs: retries, error handling and a time limit do nothing.
    assert set(types["start"]["hidden_fields"]) == {"retry", "on_error", "timeout_s"}
    assert types["http"]["hidden_fields"] == []


async def test_schema_refuses_what_the_engine_refuses(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    types = (await client.get(f"{BASE}/node-types", headers=tenant.bearer)).json()["node_types"]
    http = next(t for t in types if t["type"] == "http")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"method": "GET"}, http["schema"])  # no url
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"url": "https://x", "surprise": 1}, http["schema"])


async def test_node_types_need_credentials(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get(f"{BASE}/node-types"), 401)


async def test_each_save_bumps_the_revision_and_a_stale_one_is_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    draft = await new_workflow(client, tenant)
    workflow_id = draft["associated_workflow"]
    assert draft["revision"] == 0
    opened = (await client.get(f"{BASE}/workflow/{workflow_id}/edit", headers=tenant.bearer)).json()
    assert opened["revision"] == 0

    first = await save(client, tenant, workflow_id, revision=0)
    assert first.status_code == 200, first.text
    assert first.json()["revision"] == 1

    stale = await save(client, tenant, workflow_id, revision=0, nodes=[START], edges=[])
    body = assert_envelope(stale, 409, "DRAFT_CONFLICT")
    assert "revision" in body["message"]
    kept = (await client.get(f"{BASE}/workflow/{workflow_id}/edit", headers=tenant.bearer)).json()
    assert [n["id"] for n in kept["nodes"]] == ["1", "2"] and kept["revision"] == 1

    unchecked = await save(client, tenant, workflow_id)  # Refold's callers send no revision
    assert unchecked.status_code == 200 and unchecked.json()["revision"] == 2


async def test_publish_restore_and_discard_move_the_revision_on(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = (await new_workflow(client, tenant))["associated_workflow"]
    await save(client, tenant, workflow_id, revision=0)
    published = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert published.status_code == 200, published.text
    assert published.json()["revision"] == 2
    assert_envelope(await save(client, tenant, workflow_id, revision=1), 409, "DRAFT_CONFLICT")

    reopened = await client.get(f"{BASE}/workflow/{workflow_id}/edit", headers=tenant.bearer)
    assert reopened.json()["revision"] == 2
    restored = await client.post(
        f"{BASE}/workflow/{workflow_id}/versions/1/restore", headers=tenant.bearer
    )
    assert restored.json()["revision"] == 3
    await client.delete(f"{BASE}/workflow/{workflow_id}/draft", headers=tenant.bearer)
    after = await client.get(f"{BASE}/workflow/{workflow_id}/edit", headers=tenant.bearer)
    assert after.json()["revision"] == 4


async def test_draft_answers_list_what_publish_would_refuse(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = (await new_workflow(client, tenant))["associated_workflow"]
    broken = {"id": "3", "type": "http", "name": "Call", "data": {"method": "GET"}}
    saved = await save(
        client,
        tenant,
        workflow_id,
        nodes=[START, NOTE, broken],
        edges=[EDGE, {"id": "e2", "source": "2", "target": "3"}],
    )
    assert saved.status_code == 200, saved.text
    problems = saved.json()["problems"]
    assert any(p["node_id"] == "3" and p["field"] == "url" for p in problems), problems
    assert all(set(p) >= {"node_id", "field", "message"} for p in problems)
    refused = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    publish_errors = assert_envelope(refused, 422)["errors"]
    assert [e["message"] for e in publish_errors] == [p["message"] for p in problems]

    fixed = await save(client, tenant, workflow_id)
    assert fixed.json()["problems"] == []


async def test_a_published_version_is_readable_whole(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    workflow_id = (await new_workflow(client, tenant))["associated_workflow"]
    await save(client, tenant, workflow_id)
    await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    await save(client, tenant, workflow_id, nodes=[START], edges=[])  # the draft moves on

    got = await client.get(f"{BASE}/workflow/{workflow_id}/versions/1", headers=tenant.bearer)
    assert got.status_code == 200, got.text
    version = got.json()
    assert version["version"] == 1 and version["live"] is True
    assert [n["id"] for n in version["nodes"]] == ["1", "2"]
    assert version["edges"][0]["source"] == "1" and version["createdAt"].endswith("Z")
    assert version["settings"] == {}

    missing = await client.get(f"{BASE}/workflow/{workflow_id}/versions/2", headers=tenant.bearer)
    assert_envelope(missing, 404, "VERSION_NOT_FOUND")
    for odd in ("0", "99999999999", "abc"):
        bad = await client.get(
            f"{BASE}/workflow/{workflow_id}/versions/{odd}", headers=tenant.bearer
        )
        assert_envelope(bad, 400)
    other = await make_tenant("acct-b", org_id=tenant.org_id)
    foreign = await client.get(f"{BASE}/workflow/{workflow_id}/versions/1", headers=other.bearer)
    assert_envelope(foreign, 404, "WORKFLOW_NOT_FOUND")


async def test_the_org_reads_node_types_and_public_versions_with_its_key_alone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    types = await client.get(f"{BASE}/node-types", headers=tenant.org_key)
    assert types.status_code == 200 and types.json()["node_types"]
    created = await client.post(f"{BASE}/workflow", json={"name": "p"}, headers=tenant.org_key)
    assert created.status_code == 200, created.text
    workflow_id = created.json()["workflow"]["associated_workflow"]
    saved = await client.put(
        f"{BASE}/workflow/{workflow_id}/draft",
        json={"nodes": [START, NOTE], "edges": [EDGE]},
        headers=tenant.org_key,
    )
    assert saved.status_code == 200, saved.text
    await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.org_key
    )
    got = await client.get(f"{BASE}/workflow/{workflow_id}/versions/1", headers=tenant.org_key)
    assert got.status_code == 200, got.text
    assert [n["id"] for n in got.json()["nodes"]] == ["1", "2"]
    # A linked account cannot read the org's public workflow this way.
    private = await client.get(f"{BASE}/workflow/{workflow_id}/versions/1", headers=tenant.bearer)
    assert_envelope(private, 404, "WORKFLOW_NOT_FOUND")


async def test_a_drafts_webhook_url_is_known_before_publish_and_live_after(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow = await new_workflow(client, tenant)
    assert workflow["webhook_path"] is None  # a manual start has no URL
    hook = {**START, "data": {"trigger": "webhook"}}
    saved = await save(client, tenant, workflow["_id"], nodes=[hook, NOTE])
    assert saved.status_code == 200, saved.text
    path = saved.json()["webhook_path"]
    assert path.startswith("/hooks/") and saved.json()["webhook_live"] is False
    reopened = await client.get(f"{BASE}/workflow/{workflow['_id']}/edit", headers=tenant.bearer)
    assert reopened.json()["webhook_path"] == path  # the same URL on every read
    # Not live yet: the URL answers 404 until a version with the webhook is published.
    assert (await client.post(path, json={})).status_code == 404
    published = await client.put(
        f"{BASE}/workflow/{workflow['_id']}/publish", headers=tenant.bearer
    )
    assert published.status_code == 200, published.text
    live = await client.get(f"{BASE}/workflow/{workflow['_id']}", headers=tenant.bearer)
    assert live.json()["webhook_path"] == path  # publishing kept the draft's URL
    after = await client.get(f"{BASE}/workflow/{workflow['_id']}/edit", headers=tenant.bearer)
    assert after.json()["webhook_live"] is True
    assert (await client.post(path, json={"x": 1})).status_code == 202


async def test_app_triggers_list_the_parameters_a_start_node_gives(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    app = (await client.get(f"{BASE}/application/github", headers=tenant.bearer)).json()
    (trigger,) = [t for t in app["triggers"] if t["name"] == "repository_event"]
    assert trigger["parameters"]["required"] == ["owner", "repo"]
    assert set(trigger["parameters"]["properties"]) == {"owner", "repo"}
    stripe = (await client.get(f"{BASE}/application/stripe", headers=tenant.bearer)).json()
    polled = next(t for t in stripe["triggers"] if t["name"] == "new_charge")
    assert polled["parameters"] == {"type": "object", "properties": {}, "required": []}


async def test_schedule_preview_lists_the_next_runs_in_the_schedules_timezone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    from datetime import datetime

    body = {"cron": "0 9 * * 1", "timezone": "Europe/Paris"}
    shown = await client.post(f"{BASE}/schedule/preview", json=body, headers=tenant.bearer)
    assert shown.status_code == 200, shown.text
    runs = [datetime.fromisoformat(r) for r in shown.json()["next_runs"]]
    assert len(runs) == 5 and runs == sorted(runs) and shown.json()["problem"] is None
    assert all(r.hour == 9 and r.minute == 0 and r.weekday() == 0 for r in runs)
    assert {r.utcoffset().total_seconds() for r in runs} <= {3600.0, 7200.0}  # type: ignore[union-attr]
    bad = await client.post(
        f"{BASE}/schedule/preview", json={"cron": "0 9 * *"}, headers=tenant.bearer
    )
    assert bad.json() == {"next_runs": [], "problem": bad.json()["problem"]}
    assert "5 fields" in bad.json()["problem"]
