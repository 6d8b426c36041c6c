"""`mcp`: call one tool of a remote MCP server (Streamable HTTP); output the tool's result."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind
from weft.nodes.runtime import (
    NodeContext,
    NodeFailure,
    NodeResult,
    app_gateway,
    outbound_failure,
    render_object,
)

NODE_TYPE = "mcp"
DEFAULT_TIMEOUT_S = 30.0


class Config(NodeConfig):
    """MCP data: the server's endpoint URL, the tool's name and its arguments (templates), and
    the app whose connection signs the calls (its credentials go in a header, as for http)."""

    template_fields: ClassVar[tuple[str, ...]] = ("url", "arguments")

    url: str = Field(min_length=1, max_length=2000)
    tool: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any] = Field(default_factory=dict)
    connection: str | None = Field(None, min_length=1, max_length=100)

    @field_validator("url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        if "{{" in value:
            return value  # judged when it runs
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http:// or https:// URL (got {value[:80]!r})")
        return value


async def _headers(config: Config, ctx: NodeContext) -> dict[str, str]:
    if not config.connection:
        return {}
    apps = app_gateway(ctx, "mcp nodes with a connection")
    headers, query = await apps.auth_for(config.connection)
    if query:
        raise NodeFailure(
            f"The {config.connection} connection signs requests with a query parameter; "
            "an MCP server takes credentials in a header only"
        )
    return dict(headers)


async def _rendered(config: Config, ctx: NodeContext) -> tuple[str, dict[str, Any]]:
    url = await ctx.render(config.url, "url")
    if not isinstance(url, str):
        raise NodeFailure(f"url must render to a string, got {type(url).__name__}")
    return url, await render_object(ctx, config.arguments, "arguments")


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Open a session with the server through the outbound guard, call the tool, and output
    its structured content (else its text, parsed when it is JSON). A tool's error fails the
    node with the server's message; an unreachable server fails it retryably."""
    from weft.net import OutboundError, OutboundPolicy
    from weft.net.mcp_client import call_tool
    from weft.redaction import redact_url

    url, arguments = await _rendered(config, ctx)
    shown = {"url": redact_url(url), "tool": config.tool, "arguments": arguments}
    headers = await _headers(config, ctx)
    policy = getattr(ctx.outbound, "policy", None) or OutboundPolicy()
    try:
        answer = await call_tool(
            url,
            config.tool,
            arguments,
            policy=policy,
            headers=headers,
            timeout_s=config.timeout_s or DEFAULT_TIMEOUT_S,
        )
    except OutboundError as error:
        raise outbound_failure(error, url, shown) from error
    if answer.is_error:
        raise NodeFailure(
            f"The MCP tool {config.tool} failed: {answer.text or 'no message'}",
            details={"request": shown, "response": answer.output},
        )
    return NodeResult(output=answer.output, input=shown)


async def would_send(config: Config, ctx: NodeContext) -> dict[str, Any]:
    """The call a held-back step would have made, rendered from the run's data."""
    url, arguments = await _rendered(config, ctx)
    return {"url": url, "tool": config.tool, "arguments": arguments}


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="MCP tool",
    category="ai",
    description="Call a tool of a remote MCP server (Streamable HTTP) with the arguments you give.",
    defaults={"url": "https://mcp.example.com/mcp", "tool": "tool-name", "arguments": {}},
    run=run,
    # A tool may change anything: safe test mode holds the step back.
    effect="write",
    app_reference="connection",
    would_send=would_send,
    effectful=True,
    icon=NODE_TYPE,
    output_example={"result": "…"},
)
