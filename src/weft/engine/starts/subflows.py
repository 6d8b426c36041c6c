"""Sub-workflows: a `workflow` node runs another live workflow of the same linked account.

A child run is written leased to its parent's worker and run there at once when that worker has
a slot, and the parent waits for its end in the process: no claim of the child, no park, wake
and claim of the parent, no replay of its steps. The child's row is durable from its start and
leased like any claimed run, so after a crash both leases lapse and any worker resumes each; a
parent resumed that way finds its child by key and parks on it as usual. Without a slot here
the child is queued and the parent parks until the child's end makes it due.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select

from weft.clock import now
from weft.engine.runs import queue, states
from weft.engine.runs.lifecycle import lease_new_run
from weft.engine.starts.triggers import execution_row
from weft.engine.workers.answers import RunAnswer
from weft.engine.workers.wakeups import wake_workers_in_transaction
from weft.errors import WeftError
from weft.nodes.runtime import NodeFailure
from weft.store.scope import Scope
from weft.store.tables import Execution
from weft.workflows.records import locate_workflow

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from weft.engine.workers.services import Services


@dataclass(frozen=True, slots=True)
class Child:
    """A sub-workflow run as its parent found or started it; `task`: it runs in this process,
    started just now by the parent's worker."""

    execution: Execution
    task: asyncio.Task[None] | None = None


async def start_or_find_child(
    services: Services,
    parent: queue.Claimed,
    node_id: str,
    iteration: str,
    workflow_id: str,
    payload: Any,
    *,
    owner: str,
) -> Child:
    """The child run for this node and iteration, created (once) if it does not exist yet: run
    at once by the parent's worker (`owner`) when it has a slot, else queued."""
    account = parent.linked_account_pk
    worker = services.direct.worker_with_room(owner, account)
    since = time.monotonic()
    try:
        child, leased = await _start_or_find(
            services,
            parent,
            f"sub:{parent.id}:{node_id}:{iteration}",
            workflow_id,
            payload,
            owner,
            here=worker is not None,
        )
    except BaseException:
        if worker is not None:
            worker.unreserve(account)
        raise
    if worker is not None and leased is not None:
        return Child(child, worker.start_reserved(leased, since))
    if worker is not None:
        worker.unreserve(account)
    if child.status == states.QUEUED:
        services.wakeups.work_queued()
    return Child(child)


async def _start_or_find(
    services: Services,
    parent: queue.Claimed,
    key: str,
    workflow_id: str,
    payload: Any,
    owner: str,
    *,
    here: bool,
) -> tuple[Execution, queue.Claimed | None]:
    """The child found, or written (queued, or with `here` leased to `owner`: then also the
    claim its worker runs it under)."""
    scope = Scope(parent.org_id, parent.environment, parent.linked_account_pk, "")
    async with services.db.transaction() as session:
        # A parent's first walk (attempt 1) started no child for this key yet: each node and
        # iteration is stepped once per walk (and the key is unique: a second insert fails).
        if parent.attempt > 1:
            found = await session.scalar(
                select(Execution).where(
                    Execution.parent_execution_id == parent.id, Execution.idempotency_key == key
                )
            )
            if found is not None:
                return found, None
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
        row = execution_row(
            scope, workflow, trigger="workflow", payload=payload, key=key, parent=parent.id
        )
        leased = (
            lease_new_run(row, owner=owner, lease_s=services.settings.lease_s) if here else None
        )
        await session.execute(insert(Execution.__table__), row)
        if leased is None:
            await wake_workers_in_transaction(session)
    return Execution(**row), leased


async def ended_here(services: Services, child: Child) -> RunAnswer | None:
    """How a child run this process runs (`child.task`) ended, once it has; None when its task
    stopped without an end (it parked, or lost its lease): its parent parks on it then."""
    assert child.task is not None
    child_id = child.execution.id
    answers = services.answers
    services.wakeups.children_awaited.add(child_id)
    try:
        while True:
            future = answers.expect(child_id)
            try:
                await asyncio.wait((future, child.task), return_when=asyncio.FIRST_COMPLETED)
            finally:
                answers.forget(child_id, future)
            if future.done() and future.result().status in states.TERMINAL:
                return future.result()
            if child.task.done():
                return None
            # A respond step's answer only: the child goes on.
    finally:
        services.wakeups.children_awaited.discard(child_id)


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


def _descendants_count() -> Any:
    root = select(Execution.id).where(Execution.id == bindparam("root_id"))
    tree = root.cte("tree", recursive=True)
    tree = tree.union_all(select(Execution.id).where(Execution.parent_execution_id == tree.c.id))
    return select(func.count()).select_from(tree)


# Built once: building the recursive CTE per call cost more CPU than running it.
_RUNS_UNDER = _descendants_count()


async def _runs_under(session: Any, root_id: str) -> int:
    """How many runs descend from `root_id`, itself included."""
    return int(await session.scalar(_RUNS_UNDER, {"root_id": root_id}) or 0)
