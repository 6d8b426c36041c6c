"""The NodeContext a node runs with: its data, bounded expression helpers and services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weft.expressions.evaluator import ExpressionError, Limits
from weft.expressions.offload import evaluate_off_loop, render_off_loop
from weft.nodes.runtime import NodeContext, NodeFailure
from weft.workflows.graph import NodeIn


@dataclass(frozen=True)
class CallerSandbox:
    """The shared code pool as one caller uses it: its code steps wait that caller's turn."""

    pool: Any
    caller: str
    scope: str | None = None  # a workflow version: its code may reuse a warm context

    async def run(self, source: str, input: Any, *, timeout_ms: int, memory_mb: int) -> Any:
        """Run code on the pool in this caller's name."""
        return await self.pool.run(
            source,
            input,
            timeout_ms=timeout_ms,
            memory_mb=memory_mb,
            caller=self.caller,
            scope=self.scope,
        )


def expression_scope(
    trigger: Any, nodes: dict[str, Any], loop: dict[str, Any] | None, config: Any
) -> dict[str, Any]:
    """What a node's expressions read: `{trigger, nodes, loop, env, config}`.

    The one builder of live runs, test runs, run-node and the editor's preview, so an
    expression means the same in each. `config` is a public workflow's run values
    (`{config_id, fields, data_slots}`); None, as for a private workflow, reads as `{}`.
    Called once per step: keep it a plain literal.
    """
    return {"trigger": trigger, "nodes": nodes, "loop": loop, "env": {}, "config": config or {}}


def caller_of(org_id: str, linked_account_pk: str | None) -> str:
    """The identity the code pool shares its workers by: an org's linked account."""
    return f"{org_id}/{linked_account_pk or ''}"


def code_scope_of(workflow_id: str, version: int | None) -> str:
    """What a run's code steps share warm contexts within: one workflow version (or draft)."""
    return f"{workflow_id}@{'draft' if version is None else version}"


def node_context(
    node: NodeIn,
    data: dict[str, Any],
    limits: Limits,
    *,
    outbound: Any,
    sandbox: Any,
    caller: str = "",
    code_scope: str | None = None,
    extras: dict[str, Any] | None = None,
) -> NodeContext:
    """A context whose expression errors become NodeFailures naming the node and field.

    `caller` (see caller_of) is who the node's code runs for in the shared code pool;
    `code_scope` (see code_scope_of), if given, lets its code reuse a warm V8 context.
    """
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
        sandbox=CallerSandbox(sandbox, caller, code_scope) if sandbox is not None else None,
        resolved=resolved,
        extras=extras or {},
    )
