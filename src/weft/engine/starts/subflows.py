"""Sub-workflows: a `workflow` node runs another live workflow of the same linked account."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from weft.clock import now
from weft.engine.runs import queue
from weft.engine.starts.triggers import new_execution
from weft.engine.workers.wakeups import wake_workers_in_transaction
from weft.errors import WeftError
from weft.nodes.runtime import NodeFailure
from weft.store.scope import Scope
from weft.store.tables import Execution
from weft.workflows.records import locate_workflow

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from weft.engine.workers.services import Services


async def start_or_find_child(
    services: Services,
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
        await _check_limits(services.settings, session, parent)
        try:
            workflow = (await locate_workflow(scope, workflow_id, session=session)).workflow
        except WeftError as error:
            raise NodeFailure(error.message) from error
        if not workflow.published or workflow.current_version == 0:
            raise NodeFailure(f"Sub-workflow {workflow.id} is not published")
        if workflow.paused_at is not None:
            raise NodeFailure(
                f"Sub-workflow {workflow.id} paused itself after too many failed runs in a row; "
                "resume it first"
            )
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


async def _check_limits(settings: Any, session: Any, parent: queue.Claimed) -> None:
    """One trigger must not fan out without bound: the depth of nesting and the number of runs
    under the run that a trigger started are both limited (settings)."""
    max_depth = settings.subworkflow_max_depth
    depth, root_id = await _lineage(session, parent, max_depth)
    # The step's error reaches end customers, so it names no operator setting: the log does.
    if depth >= max_depth:
        log.warning("run %s: sub-workflows deeper than WEFT_SUBWORKFLOW_MAX_DEPTH", parent.id)
        raise NodeFailure(
            f"Sub-workflows nest deeper than {max_depth} levels. Ask your administrator "
            "if you need more (code SUBWORKFLOW_MAX_DEPTH)."
        )
    limit = settings.runs_per_trigger
    if await _runs_under(session, root_id) >= limit:
        log.warning("run %s: its trigger reached WEFT_RUNS_PER_TRIGGER", parent.id)
        raise NodeFailure(
            f"The trigger of this run has already started {limit} runs. Ask your administrator "
            "if you need more (code RUNS_PER_TRIGGER)."
        )


async def _lineage(session: Any, parent: queue.Claimed, max_depth: int) -> tuple[int, str]:
    """How many ancestors `parent` has (counting stops past `max_depth`) and the root's id."""
    depth, root_id, ancestor_id = 0, parent.id, parent.parent_execution_id
    while ancestor_id is not None and depth <= max_depth:
        root_id = ancestor_id
        ancestor_id = await session.scalar(
            select(Execution.parent_execution_id).where(Execution.id == ancestor_id)
        )
        depth += 1
    return depth, root_id


async def _runs_under(session: Any, root_id: str) -> int:
    """How many runs descend from `root_id`, itself included."""
    tree = select(Execution.id).where(Execution.id == root_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Execution.id).where(Execution.parent_execution_id == tree.c.id))
    return int(await session.scalar(select(func.count()).select_from(tree)) or 0)
