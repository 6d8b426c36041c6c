"""Sub-workflows: a `workflow` node runs another live workflow of the same linked account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from weft.clock import now
from weft.engine import queue
from weft.engine.triggers import new_execution
from weft.engine.wakeups import wake_workers_in_transaction
from weft.errors import WeftError
from weft.nodes.runtime import NodeFailure
from weft.store.scope import Scope
from weft.store.tables import Execution
from weft.workflows.records import locate_workflow

MAX_DEPTH = 8


async def start_or_find_child(
    services: Any,
    parent: queue.Claimed,
    node_id: str,
    iteration: str,
    workflow_id: str,
    payload: Any,
    *,
    owner: str,
) -> Execution:
    """The child run for this node and iteration, created (once) if it does not exist yet."""
    scope = Scope(parent.org_id, parent.environment, parent.linked_account_pk, "")
    key = f"sub:{parent.id}:{node_id}:{iteration}"
    async with services.db.transaction() as session:
        child = await session.scalar(
            select(Execution).where(
                Execution.parent_execution_id == parent.id, Execution.idempotency_key == key
            )
        )
        if child is not None:
            return child
        if await _depth(session, parent.parent_execution_id) >= MAX_DEPTH:
            raise NodeFailure(f"Sub-workflows nest deeper than {MAX_DEPTH} levels")
        try:
            workflow = (await locate_workflow(scope, workflow_id, session=session)).workflow
        except WeftError as error:
            raise NodeFailure(error.message) from error
        if not workflow.published or workflow.current_version == 0:
            raise NodeFailure(f"Sub-workflow {workflow.id} is not published")
        # Fenced: a worker that lost the parent's lease must not start children.
        result = await session.execute(
            queue.fenced(parent.id, owner, parent.attempt).values(updated_at=now())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise queue.LeaseLost()
        child = new_execution(
            scope, workflow, trigger="workflow", payload=payload, key=key, parent=parent.id
        )
        session.add(child)
        await session.flush()
        await wake_workers_in_transaction(session)
    services.wakeups.work_queued()
    return child


async def _depth(session: Any, parent_id: str | None) -> int:
    depth = 0
    while parent_id is not None and depth <= MAX_DEPTH:
        parent_id = await session.scalar(
            select(Execution.parent_execution_id).where(Execution.id == parent_id)
        )
        depth += 1
    return depth
