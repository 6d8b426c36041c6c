"""The `mcp` node: a workflow calls a tool of a remote MCP server (the official SDK's
`MCPServer` on 127.0.0.1, which the test settings' outbound allow list opens) through the
outbound guard, optionally signed with a connection of the linked account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from actions_support import connect_with_key, publish_chain, scope_of
from fastapi import FastAPI

from engine.flows import run
from graphs import node
from hostile_mcp import hostile_mcp
from remote_mcp import RemoteMcp, remote_mcp
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

STRIPE_KEY = "sk_test_51McpNodeSecret00042"
TOOLS = "/api/v2/public/mcp/tools"


@pytest.fixture
async def remote() -> AsyncIterator[RemoteMcp]:
    async with remote_mcp() as server:
        yield server


async def _run_tool(
    client: httpx.AsyncClient, tenant: Tenant, payload: Any = None, **data: Any
) -> dict[str, Any]:
    nodes = [
        node("1", "start", "Start", trigger="manual"),
        node("2", "mcp", "Tool", **data),
        node("3", "respond", "Answer", body="{{ nodes.tool }}"),
    ]
    published = await publish_chain(client, tenant, nodes)
    assert published.status_code == 200, published.text
    return await run(client, tenant, published.workflow_id, payload)


def _step(execution: dict[str, Any]) -> dict[str, Any]:
    return next(n for n in execution["nodes"] if n["node_id"] == "2")


async def test_mcp_node_calls_a_tool_with_rendered_arguments_and_the_accounts_connection(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, engine: Engine, remote: RemoteMcp
) -> None:
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "stripe", {"api_key": STRIPE_KEY})
    execution = await _run_tool(
        client,
        tenant,
        {"x": 40},
        url=remote.url,
        tool="add",
        arguments={"a": "{{ trigger.x }}", "b": 2},
        connection="stripe",
    )
    assert execution["status"] == "COMPLETED", execution
    assert _step(execution)["latest_output"] == {"total": 42}
    # Every request of the session carried the connection's credentials; the run shows none.
    assert remote.headers and all(
        seen.get("authorization") == f"Bearer {STRIPE_KEY}" for seen in remote.headers
    )
    assert STRIPE_KEY not in str(execution)


async def test_mcp_node_outputs_a_text_tool_answer(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, remote: RemoteMcp
) -> None:
    execution = await _run_tool(
        client,
        tenant,
        {"who": "Ada"},
        url=remote.url,
        tool="greet",
        arguments={"name": "{{ trigger.who }}"},
    )
    assert execution["status"] == "COMPLETED", execution
    assert _step(execution)["latest_output"] == {"result": "Hello Ada"}
    assert "authorization" not in remote.headers[0]


async def test_a_tool_error_fails_the_node_with_the_servers_message(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, remote: RemoteMcp
) -> None:
    execution = await _run_tool(client, tenant, url=remote.url, tool="explode")
    assert execution["status"] == "FAILED", execution
    assert "The MCP tool explode failed" in str(execution)


async def test_an_unreachable_server_fails_the_node(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    execution = await _run_tool(client, tenant, url=f"http://127.0.0.1:{port}/mcp", tool="add")
    assert execution["status"] == "FAILED", execution
    assert "could not be reached" in str(execution)


async def test_an_endless_json_answer_fails_the_step_and_the_worker_runs_on(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, remote: RemoteMcp
) -> None:
    async with hostile_mcp("endless") as hostile:
        execution = await _run_tool(client, tenant, url=hostile.url, tool="add")
        assert execution["status"] == "FAILED", execution
        error = _step(execution)["error"]
        assert "sent an answer over 4 MiB" in error["message"], error
        assert error["retryable"] is False
    # The same worker goes on to the next run.
    after = await _run_tool(client, tenant, url=remote.url, tool="add", arguments={"a": 1, "b": 1})
    assert after["status"] == "COMPLETED", after
    assert _step(after)["latest_output"] == {"total": 2}


async def test_a_private_address_is_refused_unless_the_outbound_policy_allows_it(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    # The test settings allow 127.0.0.1 only: an RFC 1918 address is refused before any dial.
    execution = await _run_tool(client, tenant, url="http://10.255.255.1:9/mcp", tool="add")
    assert execution["status"] == "FAILED", execution
    text = str(execution)
    assert "refused" in text and "a private (RFC 1918) address" in text
    assert "ask your administrator" in text and "WEFT_" not in text


async def test_the_editor_lists_a_servers_tools_with_their_input_schemas(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, remote: RemoteMcp
) -> None:
    listed = await client.post(TOOLS, json={"url": remote.url}, headers=tenant.bearer)
    assert listed.status_code == 200, listed.text
    tools = {tool["name"]: tool for tool in listed.json()["tools"]}
    assert set(tools) == {"add", "greet", "ratio", "explode"}
    assert tools["add"]["description"] == "Add two whole numbers"
    assert tools["add"]["input_schema"]["properties"]["a"]["type"] == "integer"
    assert "authorization" not in remote.headers[0]

    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "stripe", {"api_key": STRIPE_KEY})
    signed = await client.post(
        TOOLS, json={"url": remote.url, "connection": "stripe"}, headers=tenant.bearer
    )
    assert signed.status_code == 200, signed.text
    assert remote.headers[-1]["authorization"] == f"Bearer {STRIPE_KEY}"
    assert STRIPE_KEY not in signed.text


async def test_the_editors_tool_list_is_guarded_and_needs_a_session(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    private = await client.post(
        TOOLS, json={"url": "http://10.255.255.1:9/mcp"}, headers=tenant.bearer
    )
    assert_envelope(private, 400, "OUTBOUND_BLOCKED")
    unconnected = await client.post(
        TOOLS,
        json={"url": "http://10.255.255.1:9/mcp", "connection": "stripe"},
        headers=tenant.bearer,
    )
    assert unconnected.status_code == 400, unconnected.text
    assert_envelope(await client.post(TOOLS, json={"url": "http://127.0.0.1:9/mcp"}), 401)
