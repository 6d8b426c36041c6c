"""The MCP protocol endpoint of a linked account's MCP servers: `/mcp/v1/{token}/{server_id}`.

Built on the official MCP Python SDK: one low-level `Server` whose handlers list and call the
tools of the server the URL names (`engine.agents.mcp_tools`), served over Streamable HTTP by
the SDK's session manager in stateless JSON mode, so every request is authenticated on its
own (the token is checked against the stored hash and must belong to that server; a failed
check counts against the source address as other failed credentials do). The URL's token never
reaches the access log or the metrics: the route template stands in for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from weft import __version__
from weft.api.deps import app_state, failed_authentication
from weft.api.envelope import error_body, request_id_of
from weft.apps import mcp_servers
from weft.apps.mcp_servers import Authenticated
from weft.engine.agents import mcp_tools
from weft.engine.workers.services import Services
from weft.errors import WeftError
from weft.store.json_codec import dump_json, parse_json

if TYPE_CHECKING:
    import mcp_types as types
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

log = logging.getLogger("weft.mcp")
PREFIX = "/mcp/v1"
_SCOPE_KEY = "weft.mcp"


@dataclass(frozen=True)
class _Template:
    """What the access log and metrics read as the route: never the token."""

    path: str = f"{PREFIX}/{{token}}/{{server_id}}"


def _caller(ctx: Any) -> tuple[Services, Authenticated]:
    return ctx.request.scope[_SCOPE_KEY]  # type: ignore[no-any-return]


def _tool(tool: mcp_tools.Tool) -> types.Tool:
    import mcp_types as types

    return types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=tool.input_schema,
        annotations=types.ToolAnnotations(read_only_hint=tool.read_only, open_world_hint=True),
    )


async def _list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    import mcp_types as types

    services, found = _caller(ctx)
    tools = await mcp_tools.tools_of(services, found)
    return types.ListToolsResult(tools=[_tool(tool) for tool in tools])


async def _call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    import mcp_types as types

    services, found = _caller(ctx)
    try:
        answer = await mcp_tools.call_tool(services, found, params.name, params.arguments or {})
    except mcp_tools.ToolError as error:
        return types.CallToolResult(content=[types.TextContent(text=str(error))], is_error=True)
    try:
        # As the run's history holds it: the SDK would write an app's NaN into the JSON-RPC
        # answer as it is, which no strict JSON parser (a browser's) reads.
        text = dump_json(answer)
        answer = parse_json(text)
    except TypeError:  # not JSON at all (nothing an app or a run answers today)
        text = json.dumps(answer, default=str)
    structured = answer if isinstance(answer, dict) else {"result": answer}
    return types.CallToolResult(
        content=[types.TextContent(text=text)], structured_content=structured
    )


def _session_manager() -> StreamableHTTPSessionManager:
    """The SDK's server and session manager. The SDK is imported on the first MCP request: it
    is a third of the time an import of Weft takes, which every process of `weft serve` pays
    before it serves."""
    from mcp.server.lowlevel import Server
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings

    server: Server[Any] = Server(
        "weft",
        version=__version__,
        instructions="Tools of the apps a linked account connected, served by Weft.",
        on_list_tools=_list_tools,
        on_call_tool=_call_tool,
    )
    return StreamableHTTPSessionManager(
        server,
        json_response=True,
        stateless=True,
        # Each request carries its own token; any host may serve it (behind a proxy).
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )


class McpEndpoint:
    """The ASGI app mounted at PREFIX: authenticates, then hands the request to the SDK."""

    def __init__(self) -> None:
        self.manager: StreamableHTTPSessionManager | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _serve(self) -> None:
        self.manager = _session_manager()
        async with self.manager.run():
            self._ready.set()
            await self._stop.wait()

    async def _running(self) -> StreamableHTTPSessionManager:
        """Start the SDK's session manager on first use (it needs its own task group)."""
        if self._task is None:
            self._task = asyncio.create_task(self._serve())
        await self._ready.wait()
        assert self.manager is not None  # set by _serve before _ready
        return self.manager

    async def close(self) -> None:
        """Stop the session manager (app shutdown)."""
        if self._task is not None:
            self._stop.set()
            await self._task

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        scope["route"] = _Template()
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        parts = path.strip("/").split("/")
        request = Request(scope, receive)
        try:
            found = None
            if len(parts) == 2:
                found = await mcp_servers.authenticate(
                    app_state(scope["app"]).db, parts[0], parts[1]
                )
            if found is None:
                raise await failed_authentication(request)
        except WeftError as error:
            body = error_body(
                error.status_code,
                error.error_code,
                error.message,
                request_id_of(request),
                **error.details,
            )
            response = JSONResponse(
                body, error.status_code, headers=getattr(error, "headers", None)
            )
            await response(scope, receive, send)
            return
        scope[_SCOPE_KEY] = (app_state(scope["app"]).services, found)
        manager = await self._running()
        await manager.handle_request(scope, receive, send)
