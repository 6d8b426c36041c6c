"""An expression's value against a test run's data, as the editor previews it while typing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weft.engine.interpreter.context import expression_scope
from weft.engine.runs.history import steps_of
from weft.engine.starts.triggers import get_execution
from weft.errors import NotFound
from weft.expressions.evaluator import ExpressionError, Limits, evaluate, render
from weft.nodes import Role, has_role
from weft.store.db import Database
from weft.store.scope import Scope, scoped_select
from weft.store.tables import Execution
from weft.workflows.graph import (
    Graph,
    loop_body_nodes,
    normalize_graph,
    slugify_name,
    upstream_nodes,
)
from weft.workflows.versions import open_draft


async def preview_context(
    scope: Scope,
    workflow_id: str,
    *,
    node_id: str | None,
    execution_id: str | None,
    session: AsyncSession,
    limits: Limits = Limits(),
    config: Any = None,
) -> tuple[dict[str, Any], str | None]:
    """The expression scope `node_id` would see in the chosen test run, and the run's id.

    The run is `execution_id`, else this workflow's latest test run; before any run, the
    trigger is the start node's sample payload and no step has output yet. Only steps upstream
    of `node_id` in the draft are in scope (every step when no node is named); inside a loop's
    body, its first iteration's outputs and `loop = {item: <first item>, index: 0}`. `config`
    is the given values, else those the run read (`{}` before any run, as for a private
    workflow's live run).
    """
    workflow, draft = await open_draft(scope, workflow_id, session=session)
    graph = normalize_graph(draft.nodes, draft.edges)
    if node_id is not None and graph.node(node_id) is None:
        raise NotFound(f"Node {node_id} not found in the draft", error_code="NODE_NOT_FOUND")
    visible = upstream_nodes(graph, node_id) if node_id else {n.id for n in graph.nodes}
    execution = await _chosen_run(scope, workflow.id, execution_id, session=session)
    if execution is None:
        return expression_scope(_sample_payload(graph), {}, None, config), None
    outputs: dict[str, Any] = {}
    names = {node.id: slugify_name(node.name) for node in graph.nodes}
    for step in await steps_of(execution.id, session=session):
        if step.node_id not in visible or step.node_id not in names:
            continue
        # Outside loops a step has iteration ""; inside one, the first iteration stands in.
        if step.iteration == "" or names[step.node_id] not in outputs:
            outputs[names[step.node_id]] = step.output
    run_config = execution.config if config is None else config
    context = expression_scope(execution.input, outputs, None, run_config)
    if node_id is not None:
        context["loop"] = _first_item_of_enclosing_loop(graph, node_id, context, limits)
    return context, execution.id


def _first_item_of_enclosing_loop(
    graph: Graph, node_id: str, context: dict[str, Any], limits: Limits
) -> dict[str, Any] | None:
    """`{item, index: 0}` when `node_id` is in a loop's body: its items, evaluated again."""
    for loop in (n for n in graph.nodes if has_role(n.type, Role.LOOP)):
        if node_id not in loop_body_nodes(graph, loop.id):
            continue
        source = (loop.data or {}).get("items")
        try:
            items = evaluate(source, context, limits) if isinstance(source, str) else None
        except ExpressionError:
            return None
        items = items if isinstance(items, list) else [] if items is None else [items]
        return {"item": items[0], "index": 0} if items else None
    return None


async def _chosen_run(
    scope: Scope, workflow_id: str, execution_id: str | None, *, session: AsyncSession
) -> Execution | None:
    if execution_id is not None:
        execution = await get_execution(scope, execution_id, session=session)
        if execution.workflow_id != workflow_id:
            raise NotFound(f"Execution {execution_id} not found", error_code="EXECUTION_NOT_FOUND")
        return execution
    stmt = (
        scoped_select(Execution, scope)
        .where(Execution.workflow_id == workflow_id, Execution.is_test.is_(True))
        .order_by(Execution.created_at.desc(), Execution.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


def _sample_payload(graph: Graph) -> Any:
    start = next((node for node in graph.nodes if has_role(node.type, Role.START)), None)
    return (start.data or {}).get("sample_payload") if start else None


def preview_value(
    context: dict[str, Any], *, expression: str | None, template: Any, limits: Limits
) -> tuple[Any, str | None]:
    """(value, None), or (None, what went wrong): a bad expression is an answer, not an error."""
    try:
        if expression is not None:
            return evaluate(expression, context, limits), None
        return render(template, context, limits), None
    except ExpressionError as error:
        return None, error.message


async def preview_expression(
    db: Database,
    scope: Scope,
    workflow_id: str,
    *,
    expression: str | None,
    template: Any,
    node_id: str | None,
    execution_id: str | None,
    limits: Limits,
    config: Any = None,
) -> tuple[Any, str | None, str | None]:
    """(value, error, the run whose data was used): the editor's preview of one expression.

    A write transaction: like every editor call, it opens the draft when there is none yet.
    """
    async with db.transaction() as session:
        context, run_id = await preview_context(
            scope,
            workflow_id,
            node_id=node_id,
            execution_id=execution_id,
            limits=limits,
            config=config,
            session=session,
        )
    value, error = preview_value(context, expression=expression, template=template, limits=limits)
    return value, error, run_id
