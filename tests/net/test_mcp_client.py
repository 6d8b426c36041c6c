"""weft.net.mcp_client: the MCP SDK's HTTP goes through the private-network guard."""

from __future__ import annotations

import pytest

from hostile_mcp import hostile_mcp
from remote_mcp import remote_mcp
from support import wait_until
from weft.net import BlockedDestination, OutboundError, OutboundPolicy, ResponseTooLarge
from weft.net.mcp_client import MAX_ANSWER_BYTES, call_tool, list_tools

pytestmark = pytest.mark.integration

OPEN = OutboundPolicy.parse("127.0.0.1")


async def test_lists_tools_with_their_input_schemas_and_calls_one() -> None:
    async with remote_mcp() as remote:
        tools = {tool.name: tool for tool in await list_tools(remote.url, policy=OPEN)}
        assert set(tools) == {"add", "greet", "ratio", "explode"}
        assert tools["add"].description == "Add two whole numbers"
        assert tools["add"].input_schema["required"] == ["a", "b"]
        answer = await call_tool(remote.url, "add", {"a": 1, "b": 2}, policy=OPEN)
        assert answer.is_error is False and answer.output == {"total": 3}
        failed = await call_tool(remote.url, "explode", {}, policy=OPEN)
        assert failed.is_error is True


async def test_loopback_is_refused_by_default_before_any_request() -> None:
    async with remote_mcp() as remote:
        with pytest.raises(BlockedDestination, match="loopback"):
            await list_tools(remote.url, policy=OutboundPolicy())
        assert remote.headers == []


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # one public, one private: refused as a whole

    with pytest.raises(BlockedDestination, match="RFC 1918"):
        await call_tool(
            "http://mcp.example.test/mcp", "add", {}, policy=OPEN, resolver=rebinding, timeout_s=5
        )


@pytest.mark.parametrize("kind", ["huge", "endless"])
async def test_a_json_answer_over_the_limit_fails_clearly_and_is_never_held_whole(
    kind: str,
) -> None:
    async with hostile_mcp(kind) as hostile:
        with pytest.raises(ResponseTooLarge, match=r"127\.0\.0\.1 sent an answer over 4 MiB"):
            await call_tool(hostile.url, "add", {}, policy=OPEN, timeout_s=60)
        with pytest.raises(ResponseTooLarge, match="over 4 MiB"):
            await list_tools(hostile.url, policy=OPEN, timeout_s=60)
        if kind == "endless":
            # The reader hung up: the server's endless body stopped soon after the limit
            # (what the kernel's socket buffers take on top).
            await wait_until(lambda: hostile.hung_up, what="the reader hanging up")
            assert hostile.sent < 2 * (MAX_ANSWER_BYTES + 16 * 1024 * 1024)


async def test_a_compressed_json_answer_is_refused() -> None:
    async with hostile_mcp("gzip") as hostile:
        with pytest.raises(ResponseTooLarge, match="gzip-compressed answer"):
            await call_tool(hostile.url, "add", {}, policy=OPEN, timeout_s=60)


async def test_a_tools_non_finite_numbers_read_as_null() -> None:
    async with remote_mcp() as remote:
        answer = await call_tool(remote.url, "ratio", {}, policy=OPEN)
    assert answer.is_error is False
    assert answer.output == {"ratio": None, "cap": None}


async def test_an_answer_the_sdk_cannot_read_fails_the_call_clearly_before_its_timeout() -> None:
    # A lone surrogate escape is JSON, but the MCP SDK's parser (pydantic's) refuses it: the call
    # fails at once with the reason, instead of waiting out its time limit for an answer.
    async with hostile_mcp("lone_surrogate") as hostile:
        with pytest.raises(OutboundError, match="parse JSON"):
            await call_tool(hostile.url, "add", {}, policy=OPEN, timeout_s=600)
