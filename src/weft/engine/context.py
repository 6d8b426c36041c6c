"""The NodeContext a node runs with: its data, bounded expression helpers and services."""

from __future__ import annotations

from typing import Any

from weft.expressions.evaluator import ExpressionError, Limits
from weft.expressions.offload import evaluate_off_loop, render_off_loop
from weft.nodes.runtime import NodeContext, NodeFailure
from weft.workflows.graph import NodeIn


def node_context(
    node: NodeIn,
    data: dict[str, Any],
    limits: Limits,
    *,
    outbound: Any,
    sandbox: Any,
    extras: dict[str, Any] | None = None,
) -> NodeContext:
    """A context whose expression errors become NodeFailures naming the node and field."""
    label = f'Node "{node.name}" ({node.id})'
    resolved: dict[str, Any] = {}

    async def do_render(value: Any, field_name: str) -> Any:
        try:
            resolved[field_name] = await render_off_loop(value, data, limits)
        except ExpressionError as error:
            raise NodeFailure(f"{label}, field {field_name}: {error.message}") from error
        return resolved[field_name]

    async def do_evaluate(source: str, field_name: str) -> Any:
        try:
            resolved[field_name] = await evaluate_off_loop(source, data, limits)
        except ExpressionError as error:
            raise NodeFailure(f"{label}, field {field_name}: {error.message}") from error
        return resolved[field_name]

    return NodeContext(
        data=data,
        render=do_render,
        evaluate=do_evaluate,
        outbound=outbound,
        sandbox=sandbox,
        resolved=resolved,
        extras=extras or {},
    )
