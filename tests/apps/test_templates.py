"""Templates: the org marks a published public workflow as a template (org key only); linked
accounts list them and start a private draft of their own, with injected inputs in place and
their unconnected apps as CONNECTION_REQUIRED problems. Another org's template is a 404.
Runs on SQLite and PostgreSQL (docs/templates.md)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from graphs import node
from support import Tenant, TenantFactory, assert_envelope

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"

INPUTS = {
    "type": "object",
    "properties": {
        "channel": {
            "type": "string",
            "pattern": "^C[A-Z0-9]+$",
            "x-weft-targets": [{"node": "2", "path": "params.channel"}],
        },
        "greeting": {
            "type": "string",
            "maxLength": 200,
            "default": "Hello from the template",
            "x-weft-targets": [{"node": "2", "path": "params.text"}],
        },
    },
    "required": ["channel"],
    "additionalProperties": False,
}


async def published_public_workflow(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """A public workflow posting to Slack, published once."""
    created = await client.post(
        f"{BASE}/workflow", json={"name": "Welcome", "slug": "slack"}, headers=tenant.org_key
    )
    workflow_id = created.json()["workflow"]["associated_workflow"]
    nodes = [
        node("1", "start", "Start", trigger="manual"),
        node(
            "2",
            "app_action",
            "Post",
            app="slack",
            action="post_message",
            params={"channel": "CDEFAULT", "text": "placeholder"},
        ),
    ]
    saved = await client.put(
        f"{BASE}/workflow/{workflow_id}/draft",
        json={"nodes": nodes, "edges": [{"id": "e1", "source": "1", "target": "2"}]},
        headers=tenant.org_key,
    )
    assert saved.status_code == 200, saved.text
    published = await client.put(f"{BASE}/workflow/{workflow_id}/publish", headers=tenant.org_key)
    assert published.status_code == 200, published.text
    return str(workflow_id)


async def mark(
    client: httpx.AsyncClient, tenant: Tenant, workflow_id: str, **extra: Any
) -> httpx.Response:
    body = {
        "key": "slack-welcome",
        "workflow_id": workflow_id,
        "name": "Welcome new customers",
        "description": "Post a greeting to a Slack channel",
        "category": "Chat",
        "icon": "slack",
        "required_apps": ["slack"],
        "inputs": INPUTS,
        **extra,
    }
    return await client.post(f"{BASE}/template", json=body, headers=tenant.org_key)


async def test_an_account_starts_a_private_draft_with_its_inputs_in_place(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await published_public_workflow(client, tenant)
    marked = await mark(client, tenant, workflow_id)
    assert marked.status_code == 200, marked.text
    assert marked.json()["version"] == 1 and marked.json()["required_apps"] == ["slack"]

    listed = await client.get(f"{BASE}/template", params={"q": "greet"}, headers=tenant.bearer)
    assert [t["key"] for t in listed.json()["templates"]] == ["slack-welcome"]
    assert listed.json()["categories"] == ["Chat"]
    none = await client.get(f"{BASE}/template", params={"q": "invoice"}, headers=tenant.bearer)
    assert none.json()["templates"] == []

    started = await client.post(
        f"{BASE}/workflow/from-template",
        json={"template": "slack-welcome", "inputs": {"channel": "C0123"}},
        headers=tenant.bearer,
    )
    assert started.status_code == 200, started.text
    draft = started.json()["workflow"]
    assert draft["scope"] == "private" and draft["linked_account_id"] == tenant.account_id
    assert draft["name"] == "Welcome new customers" and draft["published"] is False
    post = next(n for n in draft["nodes"] if n["id"] == "2")
    assert post["data"]["params"] == {"channel": "C0123", "text": "Hello from the template"}
    assert {(p["node_id"], p["code"]) for p in draft["problems"]} == {("2", "CONNECTION_REQUIRED")}
    mine = await client.get(f"{BASE}/workflow", headers=tenant.bearer)
    assert [w["name"] for w in mine.json()["docs"]] == ["Welcome new customers"]

    # The template is pinned: a later publish of its source changes nothing for new starts.
    by_org = await client.post(
        f"{BASE}/workflow/from-template",
        json={"template": "slack-welcome", "inputs": {"channel": "C9"}, "name": "Mine"},
        headers=tenant.as_org(),
    )
    assert by_org.status_code == 200, by_org.text
    assert by_org.json()["workflow"]["name"] == "Mine"


async def test_inputs_that_break_the_schema_are_refused_with_reasons(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert (await mark(client, tenant, await published_public_workflow(client, tenant))).is_success
    url = f"{BASE}/workflow/from-template"
    cases = [
        ({"channel": "general"}, "does not match"),
        ({}, "'channel' is a required property"),
        ({"channel": "C1", "evil": "<script>"}, "Additional properties"),
        ({"channel": "C1", "greeting": "x" * 201}, "is too long"),
    ]
    for inputs, reason in cases:
        refused = await client.post(
            url, json={"template": "slack-welcome", "inputs": inputs}, headers=tenant.bearer
        )
        body = assert_envelope(refused, 400, "INVALID_TEMPLATE_INPUTS")
        assert reason in body["message"], body
    huge = {"channel": "C1", "greeting": base64.b64encode(b"x" * 40_000).decode()}
    too_big = await client.post(
        url, json={"template": "slack-welcome", "inputs": huge}, headers=tenant.bearer
    )
    assert_envelope(too_big, 400, "INPUTS_TOO_LARGE")
    missing = await client.post(url, json={"template": "nope"}, headers=tenant.bearer)
    assert_envelope(missing, 404, "TEMPLATE_NOT_FOUND")
    assert (await client.get(f"{BASE}/workflow", headers=tenant.bearer)).json()["docs"] == []


async def test_the_org_checks_what_it_marks(client: httpx.AsyncClient, tenant: Tenant) -> None:
    workflow_id = await published_public_workflow(client, tenant)
    bad_target = {
        "type": "object",
        "properties": {"x": {"type": "string", "x-weft-targets": [{"node": "9", "path": "a"}]}},
    }
    deep_target = {
        "type": "object",
        "properties": {
            "x": {"type": "string", "x-weft-targets": [{"node": "2", "path": "params.no.such"}]}
        },
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"inputs": bad_target}, "the template has no node '9'"),
        ({"inputs": deep_target}, "has nothing at data.params.no.such"),
        ({"inputs": {"type": "object", "properties": {"x": {"type": 7}}}}, "not a JSON Schema"),
        ({"inputs": {"type": "string"}}, '"type": "object"'),
        ({"required_apps": ["no-such-app"]}, "not found"),
        ({"icon": "not-an-app-slug"}, "neither an app slug"),
    ]
    for extra, reason in cases:
        refused = await mark(client, tenant, workflow_id, **extra)
        assert refused.status_code in (400, 404), refused.text
        assert reason in refused.json()["message"], refused.json()
    unpublished = await client.post(
        f"{BASE}/workflow", json={"name": "draft only"}, headers=tenant.org_key
    )
    draft_only = unpublished.json()["workflow"]["associated_workflow"]
    assert_envelope(await mark(client, tenant, draft_only), 409, "TEMPLATE_NOT_PUBLISHED")
    assert (await mark(client, tenant, workflow_id)).is_success
    assert_envelope(await mark(client, tenant, workflow_id), 409, "TEMPLATE_EXISTS")


async def test_the_org_repins_renames_and_removes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await published_public_workflow(client, tenant)
    assert (await mark(client, tenant, workflow_id)).is_success
    again = await client.put(f"{BASE}/workflow/{workflow_id}/publish", headers=tenant.org_key)
    assert again.json()["current_version"] == 1  # nothing new in the draft: same version
    await client.get(f"{BASE}/workflow/{workflow_id}/edit", headers=tenant.org_key)
    changed = await client.patch(
        f"{BASE}/template/slack-welcome",
        json={"name": "Say hi", "category": "Onboarding", "version": 1},
        headers=tenant.org_key,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Say hi" and changed.json()["icon"] == "slack"
    assert changed.json()["category"] == "Onboarding"
    gone = await client.delete(f"{BASE}/template/slack-welcome", headers=tenant.org_key)
    assert gone.status_code == 204
    listed = await client.get(f"{BASE}/template", headers=tenant.org_key)
    assert listed.json()["templates"] == []


async def test_accounts_cannot_change_templates_and_other_orgs_see_none(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    workflow_id = await published_public_workflow(client, tenant)
    assert (await mark(client, tenant, workflow_id)).is_success
    url = f"{BASE}/template/slack-welcome"
    assert (await client.get(url, headers=tenant.bearer)).status_code == 200
    for method, body in (("PATCH", {"name": "x"}), ("DELETE", None)):
        refused = await client.request(method, url, json=body, headers=tenant.bearer)
        assert_envelope(refused, 401)
    create = await client.post(
        f"{BASE}/template",
        json={"key": "mine", "workflow_id": workflow_id, "name": "x"},
        headers=tenant.bearer,
    )
    assert_envelope(create, 401)

    other = await make_tenant("acct-b")
    assert_envelope(await client.get(url, headers=other.bearer), 404, "TEMPLATE_NOT_FOUND")
    assert_envelope(await client.get(url, headers=other.org_key), 404, "TEMPLATE_NOT_FOUND")
    listed = await client.get(f"{BASE}/template", headers=other.bearer)
    assert listed.json()["templates"] == []
    start = await client.post(
        f"{BASE}/workflow/from-template",
        json={"template": "slack-welcome", "inputs": {"channel": "C1"}},
        headers=other.bearer,
    )
    assert_envelope(start, 404, "TEMPLATE_NOT_FOUND")
    changed = await client.patch(url, json={"name": "x"}, headers=other.org_key)
    assert_envelope(changed, 404, "TEMPLATE_NOT_FOUND")
    # Another org cannot pin this org's workflow either.
    stolen = await mark(client, other, workflow_id)
    assert_envelope(stolen, 404, "WORKFLOW_NOT_FOUND")
