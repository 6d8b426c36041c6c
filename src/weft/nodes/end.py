"""`end`: stops the run with a status and an output.

`run()` renders them; stopping the run is the interpreter's part: engine.interpreter.control_flow
`end_step`, reached through `Role.END`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind, Role
from weft.nodes.runtime import NodeContext, NodeResult

NODE_TYPE = "end"


class Config(NodeConfig):
    """End data: how the run finishes, and its (templated) output."""

    template_fields: ClassVar[tuple[str, ...]] = ("output",)

    status: Literal["succeeded", "failed"] = "succeeded"
    output: Any = None


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """How the run ends: its status and rendered output (the runner stops after this)."""
    return NodeResult(
        output={"status": config.status, "output": await ctx.render(config.output, "output")}
    )


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="End",
    category="flow",
    description="Finish the run here, as succeeded or failed, with an output.",
    defaults={"status": "succeeded", "output": None},
    run=run,
    role=Role.END,
    pinnable=False,
    icon=NODE_TYPE,
)
