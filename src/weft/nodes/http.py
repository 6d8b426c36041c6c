"""`http`: one HTTP request; output `{status, headers, body}`."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal
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
)

NODE_TYPE = "http"
# The methods that change something outside (safe test mode holds these steps back).
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class Config(NodeConfig):
    """HTTP node data: the request, whose url, headers, query and body are templates."""

    template_fields: ClassVar[tuple[str, ...]] = ("url", "headers", "query", "body")

    method: Method = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, Any] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    connection: str | None = Field(None, min_length=1, max_length=100)

    @field_validator("url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        # Catch at publish what would certainly fail at run time; a URL that starts with a
        # template (`{{ env.base }}/users`) or a path (`/users`, with a connection) is judged
        # when it runs.
        if value.startswith(("{{", "/")):
            return value
        literal = value.split("{{", 1)[0]
        scheme = "https://" if literal.lower().startswith("https") else "http://"
        if len(literal) < len(scheme) and scheme.startswith(literal.lower()):
            return value
        if not literal.lower().startswith(scheme):
            raise ValueError(f"url must start with http:// or https:// (got {value[:80]!r})")
        if literal == value and not urlsplit(value).hostname:
            raise ValueError(f"url has no host (got {value[:80]!r})")
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _upper_case_method(cls, value: Any) -> Any:
        # Editors and hand-written JSON both say "post"; the wire wants "POST".
        return value.upper() if isinstance(value, str) else value


def _as_text_map(values: dict[str, Any]) -> dict[str, str]:
    return {
        str(k): v if isinstance(v, str) else json.dumps(v)
        for k, v in values.items()
        if v is not None
    }


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Send the request; 4xx/5xx fail the node (429 and 5xx retryably), with the response."""
    from weft.net import (  # imported here: nodes stay light for the validator
        OutboundError,
        is_retryable_status,
    )
    from weft.redaction import redact_request, redact_url

    url = await ctx.render(config.url, "url")
    if not isinstance(url, str):
        raise NodeFailure(f"url must render to a string, got {type(url).__name__}")
    headers = _as_text_map((await ctx.render(config.headers, "headers")) or {})
    query = _as_text_map((await ctx.render(config.query, "query")) or {})
    body = await ctx.render(config.body, "body")
    request = {"method": config.method, "url": url, "headers": headers, "query": query}
    kwargs: dict[str, Any] = {"headers": headers, "params": query, "timeout_s": config.timeout_s}
    apps = app_gateway(ctx, "http nodes with a connection") if config.connection else None
    if apps is not None:
        # The connection's credentials join the request sent, never the one recorded.
        auth_headers, auth_query = await apps.auth_for(config.connection)
        kwargs["headers"] = {**headers, **auth_headers}
        kwargs["params"] = {**query, **auth_query}
    if body is not None and config.method not in ("GET", "HEAD"):
        request["body"] = body
        if isinstance(body, str):
            kwargs["content"] = body.encode()
        else:
            kwargs["json"] = body
    try:
        if apps is not None:
            # Through the gateway: the app's rate limit (429, Retry-After) applies.
            response = await apps.request(
                config.connection,
                ctx.outbound,
                config.method,
                url,
                step_timeout_s=config.timeout_s,
                **kwargs,
            )
        else:
            response = await ctx.outbound.request(config.method, url, **kwargs)
    except OutboundError as error:
        raise outbound_failure(error, url, redact_request(request)) from error
    output = {"status": response.status, "headers": response.headers, "body": response.body}
    if response.status >= 400:
        raise NodeFailure(
            f"{config.method} {redact_url(url)} answered {response.status}",
            retryable=is_retryable_status(response.status),
            details={"response": output},
        )
    # The step records the request with credentials hidden; the wire got them as rendered.
    return NodeResult(output=output, input=redact_request(request))


async def would_send(config: Config, ctx: NodeContext) -> dict[str, Any]:
    """The request a held-back step would have sent, rendered from the run's data."""
    headers = (await ctx.render(config.headers, "headers")) or {}
    query = (await ctx.render(config.query, "query")) or {}
    url = await ctx.render(config.url, "url")
    if not isinstance(url, str):
        raise NodeFailure(f"url must render to a string, got {type(url).__name__}")
    body = await ctx.render(config.body, "body")
    return {"method": config.method, "url": url, "headers": headers, "query": query, "body": body}


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="HTTP request",
    category="action",
    description="Call any web API. URL, headers, query and body may use {{ }} references.",
    defaults={"method": "GET", "url": "https://api.example.com/items"},
    run=run,
    effect="depends",
    write_when={"method": WRITE_METHODS},
    app_reference="connection",
    would_send=would_send,
    effectful=True,
    meter="action_call",
    icon=NODE_TYPE,
    output_example={"status": 200, "headers": {"content-type": "application/json"}, "body": {}},
)
