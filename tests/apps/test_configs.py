"""Linked-account configs through the frontend SDK's routes, and runs that honour `config_id`."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from support import Tenant, TenantFactory, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

WORKFLOWS = "/api/v2/public/workflow"
CONFIG = "/api/v2/f-sdk/config"
TERMINAL = {"COMPLETED", "FAILED", "ERRORED", "CANCELLED"}

SLOTS = [
    {"name": "channel", "label": "Channel", "field_type": "text", "required": True},
    {"name": "limit", "field_type": "number", "default": 5},
]


async def publish_public(
    client: httpx.AsyncClient, tenant: Tenant, *, slug: str = "slack", event: str = "lead.created"
) -> str:
    """A public workflow of `slug`, started by `event`, answering what its config says."""
    created = await client.post(
        WORKFLOWS, json={"name": "Notify sales", "slug": slug}, headers=tenant.org_key
    )
    workflow_id = created.json()["workflow"]["associated_workflow"]
    value = {
        "channel": "{{ config.data_slots.channel }}",
        "limit": "{{ config.data_slots.limit }}",
        "config_id": "{{ config.config_id }}",
        "region": "{{ config.fields.region }}",
        "lead": "{{ trigger.name }}",
    }
    draft = {
        "nodes": [
            {
                "id": "1",
                "type": "start",
                "name": "Start",
                "data": {"trigger": "event", "event": event},
            },
            {"id": "2", "type": "transform", "name": "Out", "data": {"value": value}},
        ],
        "edges": [{"id": "e1-2", "source": "1", "target": "2"}],
        "settings": {"data_slots": SLOTS},
    }
    saved = await client.put(f"{WORKFLOWS}/{workflow_id}/draft", json=draft, headers=tenant.org_key)
    assert saved.status_code == 200, saved.text
    published = await client.put(
        f"{WORKFLOWS}/{workflow_id}/publish", json={"published": True}, headers=tenant.org_key
    )
    assert published.status_code == 200, published.text
    return str(workflow_id)


async def configure(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.put(CONFIG, json={"slug": "slack", **body}, headers=tenant.bearer)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def finished(client: httpx.AsyncClient, tenant: Tenant, execution_id: str) -> dict:
    for _ in range(500):
        got = (
            await client.get(f"/api/v2/public/execution/{execution_id}", headers=tenant.bearer)
        ).json()
        if got["status"] in TERMINAL:
            return dict(got)
        await asyncio.sleep(0.02)
    raise AssertionError(f"execution {execution_id} did not finish")


async def fire(client: httpx.AsyncClient, tenant: Tenant, **headers: str) -> list[dict[str, Any]]:
    response = await client.post(
        "/api/v2/public/event/trigger",
        json={"event": "lead.created", "payload": {"name": "Ada"}},
        headers={**tenant.bearer, **headers},
    )
    assert response.status_code == 200, response.text
    return [await finished(client, tenant, i) for i in response.json()["execution_ids"]]


async def test_config_lists_the_apps_public_workflows_disabled_until_enabled(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await publish_public(client, tenant)
    response = await client.post(
        CONFIG,
        json={"slug": "slack", "labels": [{"name": "Lead", "value": "lead"}]},
        headers=tenant.bearer,
    )
    assert response.status_code == 200, response.text
    config = response.json()
    assert config["slug"] == "slack" and config["config_id"] == "slack"
    assert config["linked_account_id"] == tenant.account_id
    assert config["labels"] == [{"name": "Lead", "value": "lead"}]
    (workflow,) = config["workflows"]
    assert workflow["id"] == workflow_id and workflow["name"] == "Notify sales"
    assert workflow["enabled"] is False
    assert [
        (f["id"], f["name"], f["field_type"], f["required"], f["value"]) for f in workflow["fields"]
    ] == [
        ("channel", "Channel", "text", True, None),
        ("limit", "limit", "number", False, 5),
    ]
    again = await client.post(CONFIG, json={"slug": "slack"}, headers=tenant.bearer)
    assert again.json()["_id"] == config["_id"]


async def test_update_config_enables_workflows_and_reports_missing_required_slots(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await publish_public(client, tenant)
    await client.post(CONFIG, json={"slug": "slack"}, headers=tenant.bearer)
    half = await configure(client, tenant, {"workflows": [{"id": workflow_id, "enabled": True}]})
    assert half["workflows"][0]["enabled"] is True
    assert half["field_errors"] == [
        {"workflow_id": workflow_id, "field": "channel", "message": "Channel is required"}
    ]
    full = await configure(
        client,
        tenant,
        {
            "fields": {"region": "eu"},
            "workflows": [{"id": workflow_id, "enabled": True, "fields": {"channel": "#sales"}}],
        },
    )
    assert full["field_errors"] == []
    assert full["fields"] == [
        {
            "id": "region",
            "name": "region",
            "field_type": "text",
            "required": False,
            "options": None,
            "placeholder": None,
            "help_text": None,
            "value": "eu",
            "labels": None,
            "dynamic_options": False,
            "options_error": None,
        }
    ]
    got = await client.get("/api/v2/f-sdk/slug/slack/config", headers=tenant.bearer)
    assert got.json()["workflows"][0]["fields"][0]["value"] == "#sales"


async def test_update_config_refuses_unknown_workflows_slots_and_wrong_types(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await publish_public(client, tenant)
    await client.post(CONFIG, json={"slug": "slack"}, headers=tenant.bearer)
    cases = [
        ({"workflows": [{"id": "0" * 24, "enabled": True}]}, "INVALID_WORKFLOW_ID"),
        ({"workflows": [{"id": workflow_id, "fields": {"nope": 1}}]}, "INVALID_DATA_SLOT"),
        ({"workflows": [{"id": workflow_id, "fields": {"limit": "ten"}}]}, "INVALID_INPUT"),
        ({"fields": {"region": {"nested": True}}}, "INVALID_INPUT"),
    ]
    for body, code in cases:
        response = await client.put(CONFIG, json={"slug": "slack", **body}, headers=tenant.bearer)
        assert_envelope(response, 400, code)


async def test_events_run_enabled_public_workflows_once_per_config_with_its_values(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    workflow_id = await publish_public(client, tenant)
    for config_id, channel in (("slack", "#sales"), ("eu", "#eu")):
        await client.post(
            CONFIG, json={"slug": "slack", "config_id": config_id}, headers=tenant.bearer
        )
        await configure(
            client,
            tenant,
            {
                "config_id": config_id,
                "workflows": [{"id": workflow_id, "enabled": True, "fields": {"channel": channel}}],
            },
        )
    runs = await fire(client, tenant)
    assert sorted((r["config_id"], r["output"]["channel"]) for r in runs) == [
        ("eu", "#eu"),
        ("slack", "#sales"),
    ]
    assert all(r["output"]["lead"] == "Ada" and r["output"]["limit"] == 5 for r in runs)
    (only,) = await fire(client, tenant, slug="slack", config_id="eu")
    assert only["output"]["channel"] == "#eu" and only["output"]["config_id"] == "eu"


async def test_disabled_or_deleted_configs_start_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, engine: Engine
) -> None:
    workflow_id = await publish_public(client, tenant)
    await client.post(CONFIG, json={"slug": "slack"}, headers=tenant.bearer)
    event = {"event": "lead.created", "payload": {}}
    response = await client.post("/api/v2/public/event/trigger", json=event, headers=tenant.bearer)
    assert_envelope(response, 404, "INVALID_EVENT")
    # Another linked account of the same org has no config: the org's workflow is not its own.
    other = await make_tenant("acct-b", org_id=tenant.org_id)
    response = await client.post("/api/v2/public/event/trigger", json=event, headers=other.bearer)
    assert_envelope(response, 404, "INVALID_EVENT")
    await configure(
        client,
        tenant,
        {"workflows": [{"id": workflow_id, "enabled": True, "fields": {"channel": "#x"}}]},
    )
    assert len(await fire(client, tenant)) == 1
    deleted = await client.delete("/api/v2/f-sdk/slug/slack/config", headers=tenant.bearer)
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    response = await client.post("/api/v2/public/event/trigger", json=event, headers=tenant.bearer)
    assert_envelope(response, 404, "INVALID_EVENT")


async def test_execute_runs_a_public_workflow_with_the_named_config(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    workflow_id = await publish_public(client, tenant)
    url = f"{WORKFLOWS}/{workflow_id}/execute"
    body = {"payload": {"name": "Bo"}}
    assert_envelope(
        await client.post(url, json=body, headers=tenant.bearer), 404, "CONFIG_NOT_FOUND"
    )
    await client.post(CONFIG, json={"slug": "slack", "config_id": "eu"}, headers=tenant.bearer)
    eu = {**tenant.bearer, "config_id": "eu"}
    assert_envelope(await client.post(url, json=body, headers=eu), 400, "WORKFLOW_NOT_ENABLED")
    await configure(
        client,
        tenant,
        {
            "config_id": "eu",
            "workflows": [{"id": workflow_id, "enabled": True, "fields": {"channel": "#eu"}}],
        },
    )
    started = await client.post(url, json=body, headers=eu)
    assert started.status_code == 200, started.text
    done = await finished(client, tenant, started.json()["execution_id"])
    assert done["status"] == "COMPLETED" and done["config_id"] == "eu"
    assert done["output"]["channel"] == "#eu" and done["output"]["lead"] == "Bo"
    # The run is the account's, the workflow the org's: its name still shows in the history.
    assert done["name"] == "Notify sales"
    listed = await client.get("/api/v2/public/execution", headers=tenant.bearer)
    assert [run["name"] for run in listed.json()["docs"]] == ["Notify sales"]
    rerun = await client.post(
        f"/api/v2/public/execution/{done['_id']}/rerun", headers=tenant.bearer
    )
    assert rerun.status_code == 200, rerun.text


async def test_configs_belong_to_one_linked_account(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    await publish_public(client, tenant)
    await client.post(CONFIG, json={"slug": "slack", "config_id": "mine"}, headers=tenant.bearer)
    other = await make_tenant("acct-b", org_id=tenant.org_id)
    stranger = await make_tenant()
    for someone in (other, stranger):
        for method in ("GET", "DELETE"):
            response = await client.request(
                method, "/api/v2/f-sdk/slug/slack/config/mine", headers=someone.bearer
            )
            assert_envelope(response, 404, "CONFIG_NOT_FOUND")
    unknown = await client.get("/api/v2/f-sdk/slug/nope/config", headers=tenant.bearer)
    assert_envelope(unknown, 404, "APP_NOT_FOUND")
