"""`workflow`: runs another workflow of the same linked account and waits for its output."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from weft.ids import is_id
from weft.nodes.base import NodeConfig, config_error

NODE_TYPE = "workflow"
# It touches the world outside: committed before the next step, run only under a live lease.
EFFECTFUL = True


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
