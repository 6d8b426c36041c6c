"""Node types: one module each, holding the type's `Config` model for a node's `data`, its
`run()` and its traits (`EFFECTFUL`); registered once here.

The engine's runner is the only caller of node behaviour; nodes never touch the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
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
    respond,
    start,
    transform,
    workflow,
)
from weft.nodes.base import (
    NodeConfig,
    RetryPolicy,
    describe_errors,
    error_field,
    format_errors,
)

_MODULES = (
    start,
    http,
    app_action,
    transform,
    condition,
    loop,
    delay,
    code,
    respond,
    workflow,
    ai,
    end,
)
# The registry: every type once, with its config model, its behaviour and its traits.
NODE_TYPES: dict[str, type[NodeConfig]] = {module.NODE_TYPE: module.Config for module in _MODULES}
# `run(config, ctx) -> NodeResult` of each type that computes its own output (loop, delay and
# workflow steer the run instead: engine.control_flow; start is the trigger's payload).
RUNNERS: dict[str, Callable[..., Awaitable[Any]]] = {
    module.NODE_TYPE: module.run for module in _MODULES if hasattr(module, "run")
}
# Types whose step is a single expression render, bounded by the expressions' hard time limit
# (weft.expressions.offload): the runner needs no timer of its own for them.
ONE_RENDER: frozenset[str] = frozenset(
    module.NODE_TYPE for module in _MODULES if getattr(module, "ONE_RENDER", False)
)
# Types whose step touches the world outside: committed before the next step starts, and
# started only while the worker's lease holds.
EFFECTFUL: frozenset[str] = frozenset(
    module.NODE_TYPE for module in _MODULES if getattr(module, "EFFECTFUL", False)
)


class UnknownNodeTypeError(ValueError):
    """A node `type` that no module defines."""

    def __init__(self, node_type: str) -> None:
        super().__init__(f"Unknown node type {node_type!r}; known: {', '.join(sorted(NODE_TYPES))}")
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
    model = NODE_TYPES.get(node_type)
    if model is None:
        raise UnknownNodeTypeError(node_type)
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
    "EFFECTFUL",
    "NODE_TYPES",
    "ONE_RENDER",
    "RUNNERS",
    "NodeConfig",
    "NodeConfigError",
    "RetryPolicy",
    "UnknownNodeTypeError",
    "describe_errors",
    "error_field",
    "format_errors",
    "parse_node_config",
]
