"""`loop`: runs its `body` branch once per item; the plain edge continues after the loop.

Its part in a run (walking the body per item, `concurrency` at once) needs the walk, so it is
the interpreter's: engine.interpreter.control_flow `loop_step`, reached through `Role.LOOP`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind, Role

NODE_TYPE = "loop"

BODY_HANDLE = "body"


class Config(NodeConfig):
    """Loop data: the expression giving the items, and how many run at once."""

    expression_fields: ClassVar[tuple[str, ...]] = ("items",)

    items: str = Field(min_length=1)
    concurrency: int = Field(1, ge=1, le=50)

    @classmethod
    def allowed_handles(cls, data: Mapping[str, Any]) -> set[str | None]:
        """The `body` branch, and the plain edge that continues after the loop."""
        return super().allowed_handles(data) | {BODY_HANDLE}


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Loop",
    category="flow",
    description="Run the 'body' branch once per item of a list; the plain edge continues after.",
    defaults={"items": "trigger.items"},
    role=Role.LOOP,
    branches=(BODY_HANDLE,),
    pinnable=False,
    icon=NODE_TYPE,
)
