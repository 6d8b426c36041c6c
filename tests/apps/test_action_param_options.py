"""Dynamic options of app action parameters (`x-weft-options`): declared in a definition,
checked when it is loaded, listed for the editor through the linked account's connection
(`POST /application/{slug}/action/{action}/options`), kept briefly, refreshable; the app's
failures are in the answer, never a 500.

The app is an org's own, served by a fake API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from actions_support import connect_with_token, scope_of
from fake_api import FakeApi, Request
from fastapi import FastAPI

from support import Tenant, assert_envelope
from weft.apps.catalog import shipped_definition
from weft.apps.param_options import declared_options

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
PROJECTS = [{"id": "p1", "title": "Launch"}, {"id": "p2", "title": "Hiring"}, {"title": "no id"}]


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    server.answer("GET", "/projects", {"data": PROJECTS})

    def sections(request: Request) -> tuple[int, Any]:
        return 200, {"sections": [{"key": f"{request.path.split('/')[2]}-todo", "name": "To do"}]}

    server.answer("GET", "/projects/p1/sections", sections)
    yield server
    server.close()


def options(**declared: Any) -> dict[str, Any]:
    return {"type": "string", "x-weft-options": declared}


def tasks_app(base_url: str, **extra_params: Any) -> dict[str, Any]:
    """An app whose create_task picks a project, then a section of that project."""
    return {
        "slug": "tasks",
        "name": "Acme Tasks",
        "auth": {
            "type": "keybased",
            "fields": [{"name": "api_key", "label": "API key"}],
            "headers": {"X-Key": "{api_key}"},
        },
        "base_url": base_url,
        "actions": [
            {
                "name": "list_projects",
                "label": "List projects",
                "method": "GET",
                "path": "/projects",
                "effect": "read",
                "items": "data",
            },
            {
                "name": "list_sections",
                "label": "List sections",
                "method": "GET",
                "path": "/projects/{project}/sections",
                "parameters": {"type": "object", "properties": {"project": {"type": "string"}}},
                "effect": "read",
            },
            {
                "name": "create_task",
                "label": "Create task",
                "method": "POST",
                "path": "/tasks",
                "effect": "write",
                "parameters": {
                    "type": "object",
                    "required": ["project"],
                    "properties": {
                        "project": options(action="list_projects", value="id", label="title"),
                        "where": {
                            "type": "object",
                            "properties": {
                                "section": options(
                                    action="list_sections",
                                    params={"project": "{project}"},
                                    items="sections",
                                    value="key",
                                    label="name",
                                )
                            },
                        },
                        "title": {"type": "string"},
                        **extra_params,
                    },
                },
            },
        ],
    }


async def define(client: httpx.AsyncClient, tenant: Tenant, app: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{BASE}/application", json=app, headers=tenant.org_key)


async def ask(
    client: httpx.AsyncClient, headers: dict[str, str], param: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{BASE}/application/tasks/action/create_task/options",
        json={"param": param, **body},
        headers=headers,
    )


async def test_options_come_from_the_connected_app_and_are_kept_until_refreshed(
    client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    assert (await define(client, tenant, tasks_app(fake.url))).status_code == 200
    # Not connected: the answer says so (the editor offers "Connect"), no call is made.
    missing = await ask(client, tenant.bearer, "project")
    assert missing.status_code == 200, missing.text
    assert missing.json()["options"] == []
    assert missing.json()["error"]["error_code"] == "CONNECTION_REQUIRED"
    assert fake.requests == []

    connected = await client.post(
        f"{BASE}/application/tasks/connection",
        json={"credentials": {"api_key": "tasks-key"}},
        headers=tenant.bearer,
    )
    assert connected.status_code == 200, connected.text
    loaded = await ask(client, tenant.bearer, "project")
    assert loaded.status_code == 200, loaded.text
    # An item without a value is left out.
    assert loaded.json() == {
        "options": [{"label": "Launch", "value": "p1"}, {"label": "Hiring", "value": "p2"}],
        "more": False,
        "error": None,
    }
    assert fake.requests[-1].headers["x-key"] == "tasks-key"
    asked = len(fake.requests)

    # Kept: the org key with the linked account reads the same list without a call...
    kept = await ask(client, tenant.as_org(), "project")
    assert kept.json()["options"] == loaded.json()["options"]
    assert len(fake.requests) == asked
    # ...until refreshed.
    fake.answer("GET", "/projects", {"data": [{"id": "p3", "title": "New"}]})
    fresh = await ask(client, tenant.bearer, "project", refresh=True)
    assert fresh.json()["options"] == [{"label": "New", "value": "p3"}]
    assert len(fake.requests) == asked + 1


async def test_options_that_depend_on_another_parameter_wait_for_its_value(
    client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    assert (await define(client, tenant, tasks_app(fake.url))).status_code == 200
    await client.post(
        f"{BASE}/application/tasks/connection",
        json={"credentials": {"api_key": "k"}},
        headers=tenant.bearer,
    )
    for values in ({}, {"project": ""}, {"project": "{{ x }}"}, {"project": {"id": "p1"}}):
        waiting = await ask(client, tenant.bearer, "where.section", values=values)
        assert waiting.status_code == 200, waiting.text
        assert waiting.json()["error"] == {
            "error_code": "OPTIONS_NEED_VALUE",
            "message": "Choose project first (a fixed value)",
        }
    assert fake.requests == []
    found = await ask(client, tenant.bearer, "where.section", values={"project": "p1"})
    assert found.json()["options"] == [{"label": "To do", "value": "p1-todo"}]
    assert fake.requests[-1].path == "/projects/p1/sections"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"error": "down"}, "500"),
        (200, {"data": "not a list"}, "data"),
        (200, ["a", "list", "without", "the", "data", "key"], "data"),
    ],
)
async def test_an_app_failure_or_odd_answer_is_in_the_answer(
    client: httpx.AsyncClient,
    tenant: Tenant,
    fake: FakeApi,
    status: int,
    body: Any,
    message: str,
) -> None:
    assert (await define(client, tenant, tasks_app(fake.url))).status_code == 200
    await client.post(
        f"{BASE}/application/tasks/connection",
        json={"credentials": {"api_key": "k"}},
        headers=tenant.bearer,
    )
    fake.answer("GET", "/projects", body, status=status)
    failed = await ask(client, tenant.bearer, "project")
    assert failed.status_code == 200, failed.text
    answer = failed.json()
    assert answer["options"] == []
    assert answer["error"]["error_code"] == "APP_CALL_FAILED", answer
    assert message in answer["error"]["message"]
    # Failures are not kept: once the app answers, the options are there.
    fake.answer("GET", "/projects", {"data": PROJECTS})
    assert len((await ask(client, tenant.bearer, "project")).json()["options"]) == 2


async def test_unknown_apps_actions_and_parameters_are_envelopes(
    client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    assert (await define(client, tenant, tasks_app(fake.url))).status_code == 200
    url = f"{BASE}/application/nope/action/create_task/options"
    gone = await client.post(url, json={"param": "project"}, headers=tenant.bearer)
    assert_envelope(gone, 404, "APP_NOT_FOUND")
    url = f"{BASE}/application/tasks/action/nope/options"
    gone = await client.post(url, json={"param": "project"}, headers=tenant.bearer)
    assert_envelope(gone, 404, "ACTION_NOT_FOUND")
    assert_envelope(await ask(client, tenant.bearer, "title"), 400, "NO_OPTIONS")
    assert_envelope(await ask(client, tenant.bearer, "nope.deeper"), 400, "NO_OPTIONS")
    hostile = await ask(client, tenant.bearer, "../../x")
    assert hostile.status_code in (400, 422)
    assert_envelope(hostile, hostile.status_code)
    unauthenticated = await ask(client, {}, "project")
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    ("declared", "reason"),
    [
        ({"value": "id"}, "x-weft-options: action: Field required"),
        ({"action": "nope"}, "the app has no action 'nope'"),
        ({"action": "create_task"}, "create_task is not a read action"),
        ({"action": "list_projects", "app": "slack"}, "`app` is not allowed"),
        ({"action": "list_projects", "params": {"p": "{missing}"}}, "params name {missing}"),
        ({"action": "list_projects", "value": "not a path!"}, "value: String should match"),
        ({"action": "list_projects", "surprise": 1}, "surprise: Extra inputs"),
    ],
)
async def test_a_bad_declaration_is_refused_when_the_definition_is_given(
    client: httpx.AsyncClient, tenant: Tenant, declared: dict[str, Any], reason: str
) -> None:
    app = tasks_app("http://127.0.0.1:9", assignee=options(**declared))
    refused = await define(client, tenant, app)
    body = assert_envelope(refused, 400)
    assert "parameter assignee: x-weft-options" in body["message"], body["message"]
    assert reason in body["message"], body["message"]


async def test_options_on_an_object_parameter_are_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    not_a_choice = {"type": "object", "x-weft-options": {"action": "list_projects"}}
    refused = await define(client, tenant, tasks_app("http://127.0.0.1:9", meta=not_a_choice))
    body = assert_envelope(refused, 400)
    assert "only a string or number parameter takes options" in body["message"]


@pytest.mark.parametrize(
    ("slug", "action", "param", "lists_with"),
    [
        ("slack", "post_message", "channel", "list_channels"),
        ("hubspot", "create_deal", "properties.pipeline", "list_deal_pipelines"),
        ("hubspot", "create_deal", "properties.dealstage", "list_deal_stages"),
        ("google-calendar", "create_event", "calendarId", "list_calendars"),
        ("google-sheets", "append_values", "range", "get_spreadsheet"),
        ("notion", "query_database", "database_id", "search"),
        ("qdrant", "query_points", "collection_name", "list_collections"),
    ],
)
def test_shipped_apps_declare_their_lists(
    slug: str, action: str, param: str, lists_with: str
) -> None:
    definition = shipped_definition(slug)
    assert definition is not None
    found = definition.action(action)
    assert found is not None
    assert declared_options(found.parameters)[param]["action"] == lists_with


async def test_shipped_slack_channels_and_hubspot_stages_load_from_the_vendor(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    """The shipped declarations work against each vendor's answer shape: Slack's paged
    conversations.list, HubSpot's stages of the pipeline the form chose."""
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    for slug in ("slack", "hubspot"):
        await connect_with_token(app, scope, slug, f"{slug}-token")
        pointed = await client.put(
            f"{BASE}/application/{slug}/settings",
            json={"base_url": fake.url},
            headers=tenant.org_key,
        )
        assert pointed.status_code == 200, pointed.text

    def channels(request: Request) -> tuple[int, Any]:
        if request.query.get("cursor") == "next":
            return 200, {"ok": True, "channels": [{"id": "C2", "name": "sales"}]}
        page = {"ok": True, "channels": [{"id": "C1", "name": "general"}]}
        return 200, page | {"response_metadata": {"next_cursor": "next"}}

    fake.answer("GET", "/conversations.list", channels)
    url = f"{BASE}/application/slack/action/post_message/options"
    listed = await client.post(url, json={"param": "channel"}, headers=tenant.bearer)
    assert listed.status_code == 200, listed.text
    assert listed.json()["options"] == [
        {"label": "general", "value": "C1"},
        {"label": "sales", "value": "C2"},
    ]
    assert fake.requests[0].query["types"] == "public_channel,private_channel"
    assert fake.requests[0].headers["authorization"] == "Bearer slack-token"

    stages = {"results": [{"id": "appointmentscheduled", "label": "Appointment scheduled"}]}
    fake.answer("GET", "/crm/v3/pipelines/deals/default/stages", stages)
    url = f"{BASE}/application/hubspot/action/create_deal/options"
    body = {"param": "properties.dealstage", "values": {"properties": {"pipeline": "default"}}}
    found = await client.post(url, json=body, headers=tenant.bearer)
    assert found.status_code == 200, found.text
    assert found.json()["options"] == [
        {"label": "Appointment scheduled", "value": "appointmentscheduled"}
    ]


async def test_options_holding_odd_strings_are_listed_not_a_500(
    client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    # JSON escapes an outside API may send: a lone surrogate (UTF-8 cannot encode one, so the
    # answer's encoding raised) and NUL, in a label and a value.
    fake.answer("GET", "/projects", {"data": [{"id": "p\udc00", "title": "La\x00unch \ud800"}]})
    assert (await define(client, tenant, tasks_app(fake.url))).status_code == 200
    await client.post(
        f"{BASE}/application/tasks/connection",
        json={"credentials": {"api_key": "k"}},
        headers=tenant.bearer,
    )
    loaded = await ask(client, tenant.bearer, "project")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["options"] == [{"label": "La\ufffdunch \ufffd", "value": "p\ufffd"}]
