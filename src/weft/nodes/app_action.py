"""`app_action`: one of an app's declared actions, called with the linked account's connection."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from weft.nodes.base import NodeConfig, config_error
from weft.nodes.kind import NodeKind
from weft.nodes.runtime import NodeContext, NodeResult, app_gateway, render_object

NODE_TYPE = "app_action"
# The most items one all_pages call gathers (apps/paging.py's cap; nodes may not import apps).
MAX_ITEMS = 10_000


class Config(NodeConfig):
    """App action data: the app slug (default: the workflow's app), action, parameters.

    `all_pages` (list actions only) fetches page after page and outputs
    `{items, pages, more}`; `max_items` bounds it (default 1000, at most 10000). Unset, the
    output is the first page's response body, as it always was.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("params",)

    app: str | None = Field(None, min_length=1, max_length=100)
    action: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    all_pages: bool = False
    max_items: int | None = Field(None, ge=1, le=MAX_ITEMS)

    @model_validator(mode="after")
    def _max_items_with_all_pages(self) -> Config:
        if self.max_items is not None and not self.all_pages:
            raise config_error("max_items applies only with all_pages: true", "max_items")
        return self


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Call the action through the gateway (rate limits, token refresh and pages are its job)."""
    apps = app_gateway(ctx, "app_action nodes")
    slug = config.app or await apps.workflow_app()
    params = await render_object(ctx, config.params, "params")
    call = await apps.call_action(
        slug,
        config.action,
        params,
        outbound=ctx.outbound,
        timeout_s=config.timeout_s,
        all_pages=config.all_pages,
        max_items=config.max_items,
    )
    return NodeResult(output=call.output, input=call.shown)


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
    meter="action_call",
    icon=NODE_TYPE,
)
