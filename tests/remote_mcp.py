"""A remote MCP server for tests: the official SDK's `MCPServer` over Streamable HTTP, served by
uvicorn on a free port of 127.0.0.1 in the test's event loop; it records the headers it got."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel


class Sum(BaseModel):
    total: int


@dataclass
class RemoteMcp:
    """The server's endpoint URL and the headers of every request it received."""

    url: str
    headers: list[dict[str, str]] = field(default_factory=list)


def _server() -> MCPServer:
    server = MCPServer("remote-test")

    @server.tool(description="Add two whole numbers")
    def add(a: int, b: int) -> Sum:
        return Sum(total=a + b)

    @server.tool(description="Say hello")
    def greet(name: str) -> str:
        return f"Hello {name}"

    @server.tool(
        description="A ratio that is not a number (Python writes NaN into JSON)",
        structured_output=False,
    )
    def ratio() -> str:
        return '{"ratio": NaN, "cap": Infinity}'

    @server.tool(description="Always fails")
    def explode() -> str:
        raise ValueError("the fuse was lit")

    return server


@asynccontextmanager
async def remote_mcp() -> AsyncIterator[RemoteMcp]:
    """A running server; its URL ends in /mcp."""
    inner = _server().streamable_http_app()
    seen: list[dict[str, str]] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await inner(scope, receive, send)

    server = uvicorn.Server(
        uvicorn.Config(recording, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RemoteMcp(f"http://127.0.0.1:{port}/mcp", seen)
    finally:
        server.should_exit = True
        await task
