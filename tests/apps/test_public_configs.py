"""Refold's server-side config API: configs, config fields with map fields whose options the
linked account's connected app gives (dynamic options), enabled workflows, the connection form.

The app is an org's own, served by a fake API on 127.0.0.1 that pages its field list."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fake_api import FakeApi, Request

from support import Tenant, TenantFactory, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
TERMINAL = {"COMPLETED", "FAILED", "ERRORED", "CANCELLED"}
CRM_FIELDS = [
    {"name": "email_address", "label": "E-mail"},
    {"name": "full_name", "label": "Name"},
    {"name": "company", "label": "Company"},
]
# The SaaS's own fields, which the linked account maps to the app's.
LABELS = [{"name": "Email", "value": "email"}, {"name": "Name", "value": "name"}]
SLOTS = [
    {
        "name": "mapping",
        "label": "Field mapping",
        "field_type": "map",
        "required": True,
        "labels": LABELS,
        "dynamic_options": {"action": "list_fields", "value": "name", "label": "label"},
    },
    {
        "name": "pipeline",
        "field_type": "select",
        "dynamic_options": {"action": "list_pipelines", "items": "data.pipelines"},
    },
]


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()

    def fields(request: Request) -> tuple[int, Any]:
        page = int(request.query.get("page", "1"))
        return 200, {"results": CRM_FIELDS[(page - 1) * 2 : page * 2]}

    server.answer("GET", "/fields", fields)
    server.answer("GET", "/pipelines", {"data": {"pipelines": [{"id": "p1"}, {"id": "p2"}]}})
    yield server
    server.close()


def crm(base_url: str) -> dict[str, Any]:
    return {
        "slug": "crm",
        "name": "Acme CRM",
        "auth": {
            "type": "keybased",
            "fields": [{"name": "api_key", "label": "API key"}],
            "headers": {"X-Key": "{api_key}"},
        },
        "base_url": base_url,
        "actions": [
            {
                "name": "list_fields",
                "label": "List contact fields",
                "method": "GET",
                "path": "/fields",
                "effect": "read",
                "items": "results",
                "pagination": {
                    "type": "page",
                    "param": "page",
                    "size_param": "per_page",
                    "page_size": 2,
                },
            },
            {
                "name": "list_pipelines",
                "label": "List pipelines",
                "method": "GET",
                "path": "/pipelines",
                "effect": "read",
            },
        ],
    }


async def publish(client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi) -> str:
    """The org's crm app and a public workflow of it with a map and a select dataslot, whose
    run answers the app field the account mapped the SaaS's `email` to."""
    defined = await client.post(f"{BASE}/application", json=crm(fake.url), headers=tenant.org_key)
    assert defined.status_code == 200, defined.text
    created = await client.post(
        f"{BASE}/workflow", json={"name": "Sync contacts", "slug": "crm"}, headers=tenant.org_key
    )
    workflow_id = str(created.json()["workflow"]["associated_workflow"])
    value = {
        "email_field": "{{ config.data_slots.mapping.email }}",
        "mapping": "{{ config.data_slots.mapping }}",
        "pipeline": "{{ config.data_slots.pipeline }}",
    }
    draft = {
        "nodes": [
            {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
            {"id": "2", "type": "transform", "name": "Out", "data": {"value": value}},
        ],
        "edges": [{"id": "e1-2", "source": "1", "target": "2"}],
        "settings": {"data_slots": SLOTS},
    }
    saved = await client.put(
        f"{BASE}/workflow/{workflow_id}/draft", json=draft, headers=tenant.org_key
    )
    assert saved.status_code == 200, saved.text
    published = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.org_key
    )
    assert published.status_code == 200, published.text
    return workflow_id


async def connect(client: httpx.AsyncClient, tenant: Tenant) -> None:
    connected = await client.post(
        f"{BASE}/application/crm/connection",
        json={"credentials": {"api_key": "crm-key-1"}},
        headers=tenant.bearer,
    )
    assert connected.status_code == 200, connected.text


def field(config: dict[str, Any], name: str) -> dict[str, Any]:
    (workflow,) = config["workflows"]
    return next(f for f in workflow["fields"] if f["id"] == name)


async def test_map_field_options_come_from_the_connected_app_and_runs_read_the_mapping(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, fake: FakeApi
) -> None:
    workflow_id = await publish(client, tenant, fake)
    # Not connected yet: the config is there, its dynamic fields say why they have no options.
    created = await client.post(f"{BASE}/config", json={"slug": "crm"}, headers=tenant.as_org())
    assert created.status_code == 200, created.text
    mapping = field(created.json(), "mapping")
    assert mapping["options"] is None and mapping["labels"] == LABELS
    assert mapping["options_error"]["error_code"] == "CONNECTION_REQUIRED"
    assert fake.requests == []

    await connect(client, tenant)
    headers = {**tenant.as_org(), "slug": "crm"}
    loaded = await client.post(f"{BASE}/config/field/mapping", json={}, headers=headers)
    assert loaded.status_code == 200, loaded.text
    shown = loaded.json()
    assert shown["field_type"] == "map" and shown["workflow_id"] == workflow_id
    assert shown["options"] == [
        {"name": "E-mail", "value": "email_address"},
        {"name": "Name", "value": "full_name"},
        {"name": "Company", "value": "company"},
    ]
    assert shown["options_error"] is None
    # Two pages through the account's connection.
    assert [r.query.get("page") for r in fake.requests] == ["1", "2"]
    assert all(r.headers["x-key"] == "crm-key-1" for r in fake.requests)

    # Kept briefly: asking again calls nothing; `refresh` calls the app again.
    again = await client.post(f"{BASE}/config/field/mapping", json={}, headers=headers)
    assert again.json()["options"] == shown["options"] and len(fake.requests) == 2
    await client.post(f"{BASE}/config/field/mapping?refresh=true", headers=headers)
    assert len(fake.requests) == 4

    put = await client.put(
        f"{BASE}/config/field/mapping",
        json={"value": {"email": "email_address", "name": "full_name"}},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["value"] == {"email": "email_address", "name": "full_name"}
    updated = await client.put(
        f"{BASE}/config",
        json={"slug": "crm", "workflows": [{"id": workflow_id, "enabled": True}]},
        headers=tenant.as_org(),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["field_errors"] == []
    assert field(updated.json(), "pipeline")["options"] == [
        {"name": "p1", "value": "p1"},
        {"name": "p2", "value": "p2"},
    ]

    started = await client.post(
        f"{BASE}/workflow/{workflow_id}/execute",
        json={"payload": {}},
        headers={**tenant.bearer, "sync_execution": "true"},
    )
    assert started.status_code == 200, started.text
    assert started.json()["email_field"] == "email_address"
    assert started.json()["mapping"] == {"email": "email_address", "name": "full_name"}


async def test_config_routes_read_update_and_clear_fields(
    client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    workflow_id = await publish(client, tenant, fake)
    await connect(client, tenant)
    await client.post(
        f"{BASE}/config", json={"slug": "crm", "config_id": "eu"}, headers=tenant.bearer
    )
    headers = {**tenant.bearer, "slug": "crm", "config_id": "eu"}
    await client.put(
        f"{BASE}/config/field/mapping?workflow_id={workflow_id}",
        json={"value": {"email": "company"}},
        headers=headers,
    )
    got = await client.get(f"{BASE}/slug/crm/config/eu", headers=tenant.bearer)
    assert got.status_code == 200, got.text
    assert field(got.json(), "mapping")["value"] == {"email": "company"}
    # An app-level field is set, read and cleared through the same routes.
    region = await client.put(
        f"{BASE}/config/field/region", json={"value": "eu-west"}, headers=headers
    )
    assert region.json()["workflow_id"] is None and region.json()["value"] == "eu-west"
    cleared = await client.delete(f"{BASE}/config/field/mapping", headers=headers)
    assert cleared.status_code == 200 and cleared.json()["value"] is None
    gone = await client.delete(f"{BASE}/config/field/region", headers=headers)
    assert gone.status_code == 200
    assert_envelope(
        await client.get(f"{BASE}/config/field/region", headers=headers), 404, "FIELD_NOT_FOUND"
    )
    # Nothing enabled yet; then one workflow in config eu.
    listed = await client.get(f"{BASE}/workflow/enabled", headers=tenant.bearer)
    assert listed.status_code == 200 and listed.json() == []
    await client.put(
        f"{BASE}/config",
        json={
            "slug": "crm",
            "config_id": "eu",
            "workflows": [{"id": workflow_id, "enabled": True}],
        },
        headers=tenant.bearer,
    )
    listed = await client.get(f"{BASE}/workflow/enabled", headers={**tenant.bearer, "slug": "crm"})
    (enabled,) = listed.json()
    assert enabled["_id"] == workflow_id and enabled["config_id"] == "eu"
    assert enabled["slug"] == "crm" and enabled["name"] == "Sync contacts"
    other = await client.get(
        f"{BASE}/workflow/enabled", headers={**tenant.bearer, "config_id": "crm"}
    )
    assert other.json() == []
    deleted = await client.delete(f"{BASE}/slug/crm/config/eu", headers=tenant.bearer)
    assert deleted.json() == {"success": True, "message": "Config deleted", "config_id": "eu"}


async def test_config_field_errors_are_envelopes(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, fake: FakeApi
) -> None:
    workflow_id = await publish(client, tenant, fake)
    await client.post(f"{BASE}/config", json={"slug": "crm"}, headers=tenant.bearer)
    headers = {**tenant.bearer, "slug": "crm"}
    cases = [
        ("PUT", "mapping", {"value": {"phone": "x"}}, {}, 400, "INVALID_LABEL"),
        ("PUT", "mapping", {"value": "email"}, {}, 400, "INVALID_INPUT"),
        ("PUT", "mapping", {"value": {"email": {"deep": 1}}}, {}, 400, "INVALID_INPUT"),
        ("PUT", "mapping", {"value": {}}, {"workflow_id": "0" * 24}, 404, "WORKFLOW_NOT_FOUND"),
        ("POST", "nope", {}, {"workflow_id": workflow_id}, 404, "FIELD_NOT_FOUND"),
        ("POST", "mapping", {}, {}, 404, "CONFIG_NOT_FOUND"),
    ]
    for method, name, body, params, status, code in cases:
        extra = {"config_id": "missing"} if code == "CONFIG_NOT_FOUND" else {}
        response = await client.request(
            method,
            f"{BASE}/config/field/{name}",
            json=body,
            params=params,
            headers={**headers, **extra},
        )
        assert_envelope(response, status, code)
    no_slug = await client.post(f"{BASE}/config/field/mapping", json={}, headers=tenant.bearer)
    assert "slug" in assert_envelope(no_slug, 400, "INVALID_INPUT")["message"]
    unknown = await client.post(
        f"{BASE}/config/field/mapping", json={}, headers={**tenant.bearer, "slug": "nope"}
    )
    assert_envelope(unknown, 404, "APP_NOT_FOUND")
    # Another linked account of the org sees none of this account's configs.
    other = await make_tenant("acct-b", org_id=tenant.org_id)
    theirs = await client.post(
        f"{BASE}/config/field/mapping", json={}, headers={**other.bearer, "slug": "crm"}
    )
    assert_envelope(theirs, 404, "CONFIG_NOT_FOUND")
    assert_envelope(await client.get(f"{BASE}/config/field/mapping"), 401)
    not_connected = await client.post(f"{BASE}/config/field/mapping", json={}, headers=headers)
    assert (
        "not connected crm" in assert_envelope(not_connected, 400, "CONNECTION_REQUIRED")["message"]
    )

    # The app refuses: the field says so, the config still answers.
    await connect(client, tenant)
    fake.answer("GET", "/fields", {"message": "down"}, status=503)
    refused = await client.post(
        f"{BASE}/config/field/mapping?refresh=true", json={}, headers=headers
    )
    assert "503" in assert_envelope(refused, 502, "APP_CALL_FAILED")["message"]
    config = await client.get(f"{BASE}/slug/crm/config", headers=tenant.bearer)
    assert config.status_code == 200, config.text
    mapping = field(config.json(), "mapping")
    assert mapping["options"] is None
    assert mapping["options_error"]["error_code"] == "APP_CALL_FAILED"


async def test_a_public_workflow_refuses_a_bad_dynamic_options_declaration(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        f"{BASE}/workflow", json={"name": "w", "slug": "slack"}, headers=tenant.org_key
    )
    workflow_id = created.json()["workflow"]["associated_workflow"]
    for slot in (
        {"name": "a", "field_type": "text", "dynamic_options": {"action": "x"}},
        {"name": "b", "field_type": "map", "dynamic_options": {"action": "x", "value": "a b"}},
        {"name": "c", "field_type": "select", "labels": LABELS},
    ):
        saved = await client.put(
            f"{BASE}/workflow/{workflow_id}/draft",
            json={"nodes": [], "settings": {"data_slots": [slot]}},
            headers=tenant.org_key,
        )
        assert_envelope(saved, 400, "INVALID_DATA_SLOTS")


async def test_auth_structure_is_the_apps_connection_form(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    got = await client.get(f"{BASE}/auth-structure/stripe", headers=tenant.bearer)
    assert got.status_code == 200, got.text
    form = got.json()
    assert form["slug"] == "stripe" and form["auth_type"] == "keybased"
    assert form["connected"] is False
    assert [f["name"] for f in form["auth_input_map"]] == ["api_key"]
    assert form["auth_type_options"] == {"keybased": form["auth_input_map"]}
    assert_envelope(
        await client.get(f"{BASE}/auth-structure/nope", headers=tenant.bearer), 404, "APP_NOT_FOUND"
    )


async def test_config_reads_use_the_kept_options(
    client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    """Readers at once within the minute are served the options kept by the first load: the
    app is not called again per reader."""
    await publish(client, tenant, fake)
    await connect(client, tenant)
    await client.post(f"{BASE}/config", json={"slug": "crm"}, headers=tenant.bearer)
    calls = len(fake.requests)
    answers = await asyncio.gather(
        *(client.get(f"{BASE}/slug/crm/config", headers=tenant.bearer) for _ in range(3))
    )
    assert all(a.status_code == 200 for a in answers)
    assert len(fake.requests) == calls


async def test_refold_routes_weft_lacks_answer_404_envelopes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The routes docs/apps.md lists as missing ("Differences from Refold") answer a clear 404."""
    missing = [
        ("PUT", f"{BASE}/linked-account/default-app/auth-credentials/api_key"),
        ("DELETE", f"{BASE}/linked-account/default-app/auth-credentials/api_key"),
        ("GET", f"{BASE}/execution/{'0' * 24}/nodes/2/batches"),
        ("POST", f"/api/v1/workflow/{'0' * 24}/execute"),
        ("GET", f"{BASE}/config/all"),
        ("GET", f"{BASE}/config/eu/fields"),
        ("GET", f"{BASE}/config/eu/rule-engine/options"),
        ("GET", f"{BASE}/config/eu/field/mapping"),
    ]
    for method, url in missing:
        response = await client.request(method, url, json={}, headers=tenant.as_org())
        assert response.status_code == 404, (method, url, response.status_code)
        assert_envelope(response, 404, "NOT_FOUND")
