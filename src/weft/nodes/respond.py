"""`respond`: the response a synchronous caller receives (`return_value`).

`run()` renders it; committing it at once, before the steps after it, is the interpreter's part:
engine.interpreter.control_flow `respond_step`, reached through `Role.RESPOND`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind, Role
from weft.nodes.runtime import NodeContext, NodeResult

NODE_TYPE = "respond"


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


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Respond",
    category="flow",
    description="Answer a synchronous webhook caller with a status, headers and body.",
    defaults={"status": 200, "body": {}},
    run=run,
    role=Role.RESPOND,
    pinnable=False,
    effectful=True,
    icon=NODE_TYPE,
    output_example={"status": 200, "headers": {}, "body": {}},
)
