"""`respond`: the response a synchronous caller receives (`return_value`)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from weft.nodes.base import NodeConfig
from weft.nodes.runtime import NodeContext, NodeResult

NODE_TYPE = "respond"
# It touches the world outside: committed before the next step, run only under a live lease.
EFFECTFUL = True


class Config(NodeConfig):
    """Respond data: status, headers and a templated body."""

    template_fields: ClassVar[tuple[str, ...]] = ("headers", "body")

    status: int = Field(200, ge=100, le=599)
    headers: dict[str, Any] = Field(default_factory=dict)
    body: Any = None


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """The answer a synchronous caller receives: status, headers and the rendered body."""
    headers = (await ctx.render(config.headers, "headers")) or {}
    body = await ctx.render(config.body, "body")
    return NodeResult(output={"status": config.status, "headers": headers, "body": body})
