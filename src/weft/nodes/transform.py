"""`transform`: outputs `value` with its templates evaluated."""

from __future__ import annotations

from typing import Any, ClassVar

from weft.nodes.base import NodeConfig
from weft.nodes.runtime import NodeContext, NodeResult

NODE_TYPE = "transform"
# Its step is one render, bounded by the expressions' own hard time limit.
ONE_RENDER = True


class Config(NodeConfig):
    """Transform data: the JSON template to evaluate."""

    template_fields: ClassVar[tuple[str, ...]] = ("value",)

    value: Any


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Output the `value` template, evaluated."""
    return NodeResult(output=await ctx.render(config.value, "value"))
