"""`transform`: outputs `value` with its templates evaluated."""

from __future__ import annotations

from typing import Any, ClassVar

from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind
from weft.nodes.runtime import NodeContext, NodeResult

NODE_TYPE = "transform"


class Config(NodeConfig):
    """Transform data: the JSON template to evaluate."""

    template_fields: ClassVar[tuple[str, ...]] = ("value",)

    value: Any


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Output the `value` template, evaluated."""
    return NodeResult(output=await ctx.render(config.value, "value"))


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Transform data",
    category="logic",
    description="Build a new value from earlier steps' data with {{ }} references.",
    defaults={"value": {}},
    run=run,
    one_render=True,
    icon=NODE_TYPE,
)
