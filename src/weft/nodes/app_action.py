"""`app_action`: one of an app's declared actions, called with the linked account's connection."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind
from weft.nodes.runtime import NodeContext, NodeFailure, NodeResult

NODE_TYPE = "app_action"


class Config(NodeConfig):
    """App action data: the app slug (default: the workflow's app), action, parameters."""

    template_fields: ClassVar[tuple[str, ...]] = ("params",)

    app: str | None = Field(None, min_length=1, max_length=100)
    action: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Call the action; output is the response body. A 401 refreshes OAuth2 tokens once."""
    from weft.net import OutboundError, is_retryable_status

    apps = ctx.extras.get("apps")
    if apps is None:
        raise NodeFailure("app_action nodes need the engine's app gateway")
    slug = config.app or await apps.workflow_app()
    params = (await ctx.render(config.params, "params")) or {}
    if not isinstance(params, dict):
        raise NodeFailure("params must render to an object")
    definition = await apps.definition(slug)
    refreshed = False
    while True:
        request = await apps.prepare(slug, config.action, params, force_refresh=refreshed)
        try:
            response = await ctx.outbound.request(
                request.method,
                request.url,
                headers=request.headers,
                params=request.query,
                json=request.json,
                content=request.content,
                timeout_s=config.timeout_s,
            )
        except OutboundError as error:
            raise NodeFailure(
                error.message, retryable=error.retryable, details={"request": request.shown}
            ) from error
        # An access token revoked or expired early: refresh once and try again.
        # (`auth.type`: OAuth2 client credentials count as key-based but have tokens too.)
        if response.status == 401 and definition.auth.type == "oauth2" and not refreshed:
            refreshed = True
            continue
        break
    if response.status >= 400:
        raise NodeFailure(
            f"{slug}.{config.action} answered {response.status}",
            retryable=is_retryable_status(response.status),
            details={
                "request": request.shown,
                "response": {"status": response.status, "body": response.body},
            },
        )
    return NodeResult(output=response.body, input=request.shown)


async def would_send(config: Config, ctx: NodeContext) -> dict[str, Any]:
    """The call a held-back step would have made, rendered from the run's data."""
    params = (await ctx.render(config.params, "params")) or {}
    return {"app": config.app, "action": config.action, "params": params}


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="App action",
    category="action",
    description="Run an action of a connected app with the parameters you give.",
    defaults={"app": "app-slug", "action": "action-name", "params": {}},
    run=run,
    effect="depends",
    app_reference="action",
    would_send=would_send,
    effectful=True,
    icon=NODE_TYPE,
)
