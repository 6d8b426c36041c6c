"""`code`: JavaScript in a V8 isolate, with time and memory limits and no I/O."""

from __future__ import annotations

from pydantic import Field

from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind
from weft.nodes.runtime import NodeContext, NodeFailure, NodeResult

NODE_TYPE = "code"


class Config(NodeConfig):
    """Code data: the JavaScript source (never parsed as JSONata) and its limits."""

    source: str = Field(min_length=1)
    timeout_ms: int = Field(1000, ge=1, le=30_000)
    memory_mb: int = Field(64, ge=8, le=512)


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Run the JavaScript with `input` = {trigger, nodes, loop}; its result is the output."""
    from weft.sandbox import SandboxError  # the sandbox is only loaded by workflows with code

    code_input = {key: ctx.data.get(key) for key in ("trigger", "nodes", "loop")}
    try:
        output = await ctx.sandbox.run(
            config.source, code_input, timeout_ms=config.timeout_ms, memory_mb=config.memory_mb
        )
    except SandboxError as error:
        raise NodeFailure(str(getattr(error, "message", error))) from error
    return NodeResult(output=output, input=code_input)


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Code",
    category="logic",
    description="Run JavaScript in a sandbox. `input` holds {trigger, nodes, loop}; return the "
    "output.",
    defaults={"source": "return input.trigger;"},
    run=run,
    meter="code_time",
    icon=NODE_TYPE,
)
