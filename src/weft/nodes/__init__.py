"""Node types: one module each, holding the type's `Config` model for a node's `data`, its
`run()` and its `KIND` (weft.nodes.kind.NodeKind: every trait other code asks about);
registered once here, in `KINDS`.

The engine's runner is the only caller of node behaviour; nodes never touch the database. The
interpreter's part for kinds that steer a run (loop, delay, sub-workflow, respond, end, start)
is engine.interpreter.control_flow, found from the kind's `role`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from weft.nodes import (
    ai,
    app_action,
    code,
    condition,
    delay,
    end,
    http,
    loop,
    mcp,
    respond,
    start,
    transform,
    workflow,
)
from weft.nodes.base import (
    ERROR_HANDLE,
    NodeConfig,
    RetryPolicy,
    describe_errors,
    error_field,
    field_path,
    format_errors,
)
from weft.nodes.kind import NodeKind, Role
from weft.nodes.loop import BODY_HANDLE

# The registry: every node type once, in palette order. A new type is one module with a `KIND`
# and one line here.
KINDS: dict[str, NodeKind] = {
    kind.type: kind
    for kind in (
        start.KIND,
        http.KIND,
        app_action.KIND,
        transform.KIND,
        condition.KIND,
        code.KIND,
        loop.KIND,
        delay.KIND,
        workflow.KIND,
        respond.KIND,
        end.KIND,
        ai.KIND,
        mcp.KIND,
    )
}
# Each type's config model (the OpenAPI document and graph checks read it).
NODE_TYPES: dict[str, type[NodeConfig]] = {name: kind.config for name, kind in KINDS.items()}
# The trigger's type: every graph has exactly one node of it, and new workflows start with it.
START_TYPE: str = start.KIND.type


def kind_of(node_type: str) -> NodeKind:
    """The kind registered for `node_type`; raises `UnknownNodeTypeError`."""
    kind = KINDS.get(node_type)
    if kind is None:
        raise UnknownNodeTypeError(node_type)
    return kind


def has_role(node_type: str, role: Role) -> bool:
    """Whether `node_type` is a registered type that plays `role` in a run."""
    kind = KINDS.get(node_type)
    return kind is not None and kind.role is role


class UnknownNodeTypeError(ValueError):
    """A node `type` that no module defines."""

    def __init__(self, node_type: str) -> None:
        super().__init__(f"Unknown node type {node_type!r}; known: {', '.join(sorted(KINDS))}")
        self.node_type = node_type


class NodeConfigError(ValueError):
    """A node's `data` that is not valid for its type; `errors` are pydantic's error details."""

    def __init__(self, node_type: str, errors: list[ErrorDetails]) -> None:
        self.node_type = node_type
        self.errors = errors
        super().__init__(f"Invalid {node_type} node data: " + "; ".join(format_errors(errors)))

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) per invalid field."""
        return describe_errors(self.errors)


def parse_node_config(node_type: str, data: Mapping[str, Any] | None) -> NodeConfig:
    """Validate a node's `data` for its type; raise `UnknownNodeTypeError` or `NodeConfigError`."""
    model = kind_of(node_type).config
    try:
        config = model.model_validate({} if data is None else data)
    except ValidationError as error:
        raise NodeConfigError(node_type, error.errors()) from None
    if data is None and not model.data_optional:
        # Every field has a default, yet a type that needs configuring must say so explicitly.
        missing: ErrorDetails = {"type": "missing", "loc": ("data",), "msg": "Field required"}
        raise NodeConfigError(node_type, [missing])
    return config


__all__ = [
    "BODY_HANDLE",
    "ERROR_HANDLE",
    "KINDS",
    "NODE_TYPES",
    "START_TYPE",
    "NodeConfig",
    "NodeConfigError",
    "NodeKind",
    "RetryPolicy",
    "Role",
    "UnknownNodeTypeError",
    "describe_errors",
    "error_field",
    "field_path",
    "format_errors",
    "has_role",
    "kind_of",
    "parse_node_config",
]
