"""A linked account's MCP servers: Refold's management routes, and the protocol endpoint driven
by the official MCP Python SDK's client over Streamable HTTP against Weft on 127.0.0.1, whose
tools reach a fake Stripe on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from actions_support import connect_with_key, scope_of
from fake_api import FakeApi
from fastapi import FastAPI
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from engine.flows import publish
from graphs import node
from support import Tenant, TenantFactory, assert_envelope
from weft.api.mcp_protocol import McpEndpoint
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

STRIPE_KEY = "sk_test_51McpServerSecret0007"
SERVERS = "/api/v2/public/mcp-servers"
STRIPE = {"slug": "stripe", "actions": [{"id": "get_customer"}, {"id": "create_customer"}]}


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
async def live(app: FastAPI) -> AsyncIterator[str]:
    """Weft served by uvicorn on a free port of 127.0.0.1, in this event loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    for route in app.routes:
        if isinstance(getattr(route, "app", None), McpEndpoint):
            await route.app.close()


@asynccontextmanager
async def mcp_session(url: str) -> AsyncIterator[ClientSession]:
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def _stripe_connected(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "stripe", {"api_key": STRIPE_KEY})
    response = await client.put(
        "/api/v2/public/application/stripe/settings",
        json={"base_url": fake.url},
        headers=tenant.org_key,
    )
    assert response.status_code == 200, response.text


async def _create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> Any:
    response = await client.post(
        SERVERS, json={"name": "Support agent", "description": "CRM tools", **body}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_servers_are_managed_in_refold_shapes_per_linked_account(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    created = await _create(client, tenant.bearer)
    server_id = created["_id"]
    assert created["name"] == "Support agent" and created["description"] == "CRM tools"
    assert created["token"].startswith("wmcp_")
    assert created["mcp_url"].endswith(f"/mcp/v1/{created['token']}/{server_id}")
    update = {
        "suggestions": [{"name": "Find", "prompt": "Find the customer a@example.com"}],
        "chains": [{"name": "Onboard", "goals": "Create the customer", "steps": "1\n2"}],
        "associated_apps": [STRIPE],
        "read_only": True,
    }
    changed = await client.put(f"{SERVERS}/{server_id}", json=update, headers=tenant.as_org())
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "Support agent" and body["read_only"] is True
    assert body["suggestions"] == [{"name": "Find", "prompt": "Find the customer a@example.com"}]
    assert body["chains"][0]["goals"] == "Create the customer"
    assert body["associated_apps"][0]["actions"][0] == {
        "id": "get_customer",
        "name": "Get customer",
        "description": "",
    }
    assert "token" not in body or body["token"] is None
    one = await client.get(f"{SERVERS}/{server_id}", headers=tenant.bearer)
    assert one.json()["associated_org_id"] == tenant.org_id and one.json()["environment"] == "test"
    listed = await client.get(SERVERS, headers=tenant.bearer)
    assert [doc["_id"] for doc in listed.json()["docs"]] == [server_id]
    unknown = await client.put(
        f"{SERVERS}/{server_id}",
        json={"associated_apps": [{"slug": "stripe", "actions": [{"id": "nope"}]}]},
        headers=tenant.bearer,
    )
    assert_envelope(unknown, 400, "ACTION_NOT_FOUND")
    other = await make_tenant("acct-b", org_id=tenant.org_id)
    assert_envelope(await client.get(f"{SERVERS}/{server_id}", headers=other.bearer), 404)
    assert (await client.get(SERVERS, headers=other.bearer)).json()["docs"] == []
    assert_envelope(await client.post(SERVERS, json={}, headers=tenant.bearer), 400)


async def test_mcp_client_lists_tools_and_calls_one_that_reaches_the_app(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, live: str
) -> None:
    await _stripe_connected(app, client, tenant, fake)
    fake.answer("GET", "/v1/customers/cus_7", {"id": "cus_7", "email": "c@example.com"})
    created = await _create(client, tenant.bearer, associated_apps=[STRIPE])

    async with mcp_session(f"{live}/mcp/v1/{created['token']}/{created['_id']}") as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {"stripe__get_customer", "stripe__create_customer"}
        get = tools["stripe__get_customer"]
        assert get.input_schema["required"] == ["customer"]
        assert "Get customer" in get.description and "changes nothing" in get.description
        assert get.annotations.read_only_hint is True
        assert tools["stripe__create_customer"].annotations.read_only_hint is False
        result = await session.call_tool("stripe__get_customer", {"customer": "cus_7"})
        assert result.is_error is False
        assert result.structured_content == {"id": "cus_7", "email": "c@example.com"}
        assert json.loads(result.content[0].text)["id"] == "cus_7"
        missing = await session.call_tool("stripe__get_customer", {})
        assert missing.is_error is True and "customer" in missing.content[0].text

    (seen,) = fake.requests
    assert seen.path == "/v1/customers/cus_7"
    assert seen.headers["authorization"] == f"Bearer {STRIPE_KEY}"
    log = await client.get(f"{SERVERS}/{created['_id']}/logs", headers=tenant.org_key)
    assert log.status_code == 200, log.text
    calls = log.json()["docs"]
    assert [(c["tool"], c["status"]) for c in calls] == [
        ("stripe__get_customer", "error"),
        ("stripe__get_customer", "success"),
    ]
    assert calls[1]["arguments"] == {"customer": "cus_7"} and calls[1]["http_status"] == 200
    assert STRIPE_KEY not in log.text
    # Only the org sees the log (org key), and only its own servers'.
    assert_envelope(
        await client.get(f"{SERVERS}/{created['_id']}/logs", headers=tenant.bearer), 401
    )


async def test_mcp_client_lists_a_workflow_tool_and_calls_it_for_the_workflows_answer(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, live: str
) -> None:
    sample = {"name": "Grace", "visits": 3, "tags": ["vip"], "note": None}
    start = node("1", "start", "Start", trigger="manual", sample_payload=sample)
    reply = node("2", "respond", "Reply", body={"greeting": "Hello {{ trigger.name }}"})
    workflow_id = await publish(client, tenant, [start, reply], name="Greeter")
    described = await client.patch(
        f"/api/v2/public/workflow/{workflow_id}",
        json={"description": "Greets a customer by name."},
        headers=tenant.bearer,
    )
    assert described.status_code == 200, described.text
    workflow = {"id": workflow_id, "name": "Greeter"}
    created = await _create(
        client, tenant.bearer, associated_apps=[{"slug": "stripe", "workflows": [workflow]}]
    )
    tool_name = f"workflow__{workflow_id}"

    async with mcp_session(f"{live}/mcp/v1/{created['token']}/{created['_id']}") as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert tool_name in tools
        tool = tools[tool_name]
        assert "Greeter" in tool.description and "Greets a customer by name" in tool.description
        # The input schema is the request structure's: the sample's keys, types and required
        # (in PostgreSQL's JSONB key order there).
        schema = {**tool.input_schema, "required": sorted(tool.input_schema["required"])}
        assert schema == {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "visits": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "note": {},
            },
            "required": ["name", "tags", "visits"],
        }
        wrong = await session.call_tool(tool_name, {"name": 7, "tags": ["vip"]})
        assert wrong.is_error is True
        reasons = wrong.content[0].text
        assert "nothing was run" in reasons
        assert "arguments.name: 7 is not of type 'string'" in reasons
        assert "'visits' is a required property" in reasons
        arguments = {"name": "Ada", "visits": 1, "tags": [], "note": "first"}
        result = await session.call_tool(tool_name, arguments)
        assert result.is_error is False, result.content
        assert result.structured_content == {"greeting": "Hello Ada"}
        unknown = await session.call_tool("workflow__wf_nope", {})
        assert unknown.is_error is True

    log = await client.get(f"{SERVERS}/{created['_id']}/logs", headers=tenant.org_key)
    calls = log.json()["docs"]
    assert [(c["tool"], c["status"]) for c in calls] == [
        ("workflow__wf_nope", "error"),
        (tool_name, "success"),
        (tool_name, "error"),
    ]
    assert calls[1]["arguments"] == arguments
    # The refused call ran nothing: one run, the valid call's.
    runs = await client.get(
        "/api/v2/public/execution", params={"workflow_id": workflow_id}, headers=tenant.bearer
    )
    assert runs.status_code == 200, runs.text
    assert len(runs.json()["docs"]) == 1


async def test_read_only_server_withholds_write_actions(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, live: str
) -> None:
    await _stripe_connected(app, client, tenant, fake)
    created = await _create(
        client, tenant.bearer, associated_apps=[{"slug": "stripe"}], read_only=True
    )
    async with mcp_session(f"{live}/mcp/v1/{created['token']}/{created['_id']}") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert "stripe__get_customer" in names and "stripe__list_charges" in names
        assert not any("create" in name or "delete" in name for name in names)
        refused = await session.call_tool("stripe__create_customer", {"email": "x@example.com"})
        assert refused.is_error is True
    assert fake.requests == []


async def test_agent_mode_resolves_then_executes(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, live: str
) -> None:
    await _stripe_connected(app, client, tenant, fake)
    fake.answer("POST", "/v1/customers", {"id": "cus_new", "object": "customer"})
    created = await _create(
        client, tenant.bearer, associated_apps=[{"slug": "stripe"}], mode="agent"
    )
    async with mcp_session(f"{live}/mcp/v1/{created['token']}/{created['_id']}") as session:
        names = [tool.name for tool in (await session.list_tools()).tools]
        assert sorted(names) == ["EXECUTE_ACTION", "RESOLVE_ACTIONS"]
        resolved = await session.call_tool("RESOLVE_ACTIONS", {"query": "create a customer"})
        found = resolved.structured_content["actions"]
        assert found[0]["app"] == "stripe" and found[0]["action"] == "create_customer"
        assert "email" in found[0]["input_schema"]["properties"]
        done = await session.call_tool(
            "EXECUTE_ACTION",
            {
                "app": "stripe",
                "action": "create_customer",
                "parameters": {"email": "n@example.com"},
            },
        )
        assert done.is_error is False and done.structured_content["id"] == "cus_new"
    (seen,) = fake.requests
    assert seen.form() == {"email": "n@example.com"}


async def test_another_accounts_token_never_reaches_this_server(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: TenantFactory,
    fake: FakeApi,
    live: str,
) -> None:
    await _stripe_connected(app, client, tenant, fake)
    mine = await _create(client, tenant.bearer, associated_apps=[STRIPE])
    other = await make_tenant("acct-b", org_id=tenant.org_id)
    theirs = await _create(client, other.bearer, associated_apps=[STRIPE])
    stranger = await make_tenant("acct-c")  # another org altogether
    session_token = tenant.token
    for token, server_id in [
        (theirs["token"], mine["_id"]),  # another account's token, this server
        (mine["token"], theirs["_id"]),  # this token, another account's server
        (session_token, mine["_id"]),  # a session token is not a server token
        ("wmcp_" + "x" * 43, mine["_id"]),
    ]:
        async with httpx.AsyncClient(base_url=live, timeout=30) as http:
            answer = await http.post(
                f"/mcp/v1/{token}/{server_id}",
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"accept": "application/json, text/event-stream"},
            )
        assert answer.status_code == 401, (token, answer.text)
        assert answer.json()["error_code"] == "SERVER_ERROR"
    # The SDK's client fails the handshake on the 401 (inside its task groups).
    with pytest.RaisesGroup(MCPError, flatten_subgroups=True):
        async with mcp_session(f"{live}/mcp/v1/{theirs['token']}/{mine['_id']}") as session:
            await session.list_tools()
    assert stranger.org_id != tenant.org_id
    assert fake.requests == []
    # The owner's token still works, and the log shows none of the refused attempts.
    async with mcp_session(f"{live}/mcp/v1/{mine['token']}/{mine['_id']}") as session:
        assert len((await session.list_tools()).tools) == 2
    log = await client.get(f"{SERVERS}/{mine['_id']}/logs", headers=tenant.org_key)
    assert log.json()["docs"] == []
    stranger_log = await client.get(f"{SERVERS}/{mine['_id']}/logs", headers=stranger.org_key)
    assert_envelope(stranger_log, 404, "MCP_SERVER_NOT_FOUND")


async def test_rotated_token_replaces_the_old_one(
    client: httpx.AsyncClient, tenant: Tenant, live: str
) -> None:
    created = await _create(client, tenant.bearer)
    rotated = await client.post(f"{SERVERS}/{created['_id']}/token", headers=tenant.bearer)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["token"]
    assert new != created["token"]
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        old = await http.post(f"/mcp/v1/{created['token']}/{created['_id']}", json={})
        assert old.status_code == 401
    async with mcp_session(f"{live}/mcp/v1/{new}/{created['_id']}") as session:
        assert (await session.list_tools()).tools == []
    deleted = await client.delete(f"{SERVERS}/{created['_id']}", headers=tenant.bearer)
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert_envelope(await client.get(f"{SERVERS}/{created['_id']}", headers=tenant.bearer), 404)


async def test_an_apps_non_finite_numbers_reach_the_mcp_client_as_null(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, live: str
) -> None:
    # Not JSON, but real APIs send it (Python's json.dumps writes NaN): the tool's text must
    # still be JSON, and say what its structured content says.
    await _stripe_connected(app, client, tenant, fake)
    fake.answer("GET", "/v1/customers/cus_7", b'{"id": "cus_7", "balance": NaN, "cap": -Infinity}')
    created = await _create(client, tenant.bearer, associated_apps=[STRIPE])
    async with mcp_session(f"{live}/mcp/v1/{created['token']}/{created['_id']}") as session:
        result = await session.call_tool("stripe__get_customer", {"customer": "cus_7"})
    assert result.is_error is False
    read_back = {"id": "cus_7", "balance": None, "cap": None}
    assert result.structured_content == read_back
    assert json.loads(result.content[0].text) == read_back
    log = await client.get(f"{SERVERS}/{created['_id']}/logs", headers=tenant.org_key)
    assert log.status_code == 200, log.text
