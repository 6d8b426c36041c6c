"""`workflow`: runs another workflow of the same linked account and waits for its output.

Its part in a run (starting the child once, parking until it ends) is the interpreter's:
engine.interpreter.control_flow `subflow_step`, reached through `Role.SUBFLOW`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from weft.ids import is_id
from weft.nodes.base import NodeConfig, config_error
from weft.nodes.kind import NodeKind, Role
from weft.nodes.runtime import NodeContext

NODE_TYPE = "workflow"


class Config(NodeConfig):
    """Sub-workflow data: which workflow, and the (templated) payload it receives."""

    template_fields: ClassVar[tuple[str, ...]] = ("payload",)

    workflow_id: str
    payload: Any = None

    @field_validator("workflow_id")
    @classmethod
    def _workflow_id_shape(cls, value: str) -> str:
        if not is_id(value):
            raise config_error(f"{value!r} is not a workflow id (24 hex characters)")
        return value


async def would_send(config: Config, ctx: NodeContext) -> dict[str, Any]:
    """The child run a held-back step would have started, its payload rendered."""
    payload = await ctx.render(config.payload, "payload")
    return {"workflow_id": config.workflow_id, "payload": payload}


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Run workflow",
    category="flow",
    description="Start another of your workflows with a payload and use its result.",
    defaults={"workflow_id": "000000000000000000000000", "payload": None},
    role=Role.SUBFLOW,
    # The child is a live run and may write anything.
    effect="depends",
    would_send=would_send,
    runs_alone=False,
    effectful=True,
    icon=NODE_TYPE,
)
