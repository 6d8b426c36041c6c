"""What follows a run's end, on every route into a terminal status.

A run ends by finishing (succeeded, failed), by Weft giving up on it (errored) or by a user
cancelling it. Whichever route it takes, the same "run ended" hooks run, in order: first the
writes that must land in the very transaction that records the end (so a crash cannot separate
them from it), then, after the commit, the wake-ups of whoever waits on the run.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.engine import states
from weft.engine.announce import notify_in_transaction
from weft.engine.triggers import get_execution
from weft.errors import Conflict
from weft.notifications import enqueue_for_run, wants_run_notifications
from weft.store.scope import Scope
from weft.store.tables import Execution

Writes = Callable[[AsyncSession], Awaitable[Any]]


@dataclass(frozen=True)
class RunEnded:
    """A run that reached a terminal status, with what the hooks need to know about it."""

    id: str
    org_id: str
    environment: str
    workflow_id: str
    is_test: bool
    parent_execution_id: str | None
    status: str

    @classmethod
    def of(cls, run: Any, status: str) -> RunEnded:
        """From a claimed run or an execution row."""
        return cls(
            id=run.id,
            org_id=run.org_id,
            environment=run.environment,
            workflow_id=run.workflow_id,
            is_test=bool(run.is_test),
            parent_execution_id=run.parent_execution_id,
            status=status,
        )


class RunEndedHook:
    """One consequence of a run's end: writes in the ending transaction, wake-ups after it."""

    async def writes(self, services: Any, ended: RunEnded) -> Writes | None:
        """Writes to land with the end (decided before the transaction), or None."""
        return None

    async def after_commit(self, services: Any, ended: RunEnded) -> None:
        """What to do once the end is committed."""


class QueueOrgNotifications(RunEndedHook):
    """The org's `Workflow Completed` / `Workflow Errored` webhooks, queued with the end."""

    async def writes(self, services: Any, ended: RunEnded) -> Writes | None:
        if not await wants_run_notifications(services.db, ended, ended.status):
            return None
        return functools.partial(enqueue_for_run, claimed=ended, status=ended.status)


class WakeRunWaiters(RunEndedHook):
    """In-process callers waiting on the run (sync execute, tests, event streams) look again."""

    async def after_commit(self, services: Any, ended: RunEnded) -> None:
        services.notifier.changed(ended.id)


class WakeWaitingParent(RunEndedHook):
    """A parent run parked on this sub-workflow run is due again, to read how it ended."""

    async def after_commit(self, services: Any, ended: RunEnded) -> None:
        if ended.parent_execution_id:
            await wake_waiting_run(services, ended.parent_execution_id)


RUN_ENDED_HOOKS: tuple[RunEndedHook, ...] = (
    QueueOrgNotifications(),
    WakeRunWaiters(),
    WakeWaitingParent(),
)


async def ending_writes(services: Any, ended: RunEnded) -> Writes | None:
    """Everything the hooks must write in the transaction that ends the run (None: nothing)."""
    parts = [w for hook in RUN_ENDED_HOOKS if (w := await hook.writes(services, ended))]
    if not parts:
        return None

    async def write_all(session: AsyncSession) -> None:
        for part in parts:
            await part(session)

    return write_all


async def after_run_ended(services: Any, ended: RunEnded) -> None:
    """Run every hook's after-commit part; call once the end is committed."""
    for hook in RUN_ENDED_HOOKS:
        await hook.after_commit(services, ended)


async def wake_waiting_run(services: Any, execution_id: str) -> None:
    """Make a waiting run due now (its child ended); nothing if it is not waiting."""
    moment = now()
    async with services.db.transaction() as session:
        result = await session.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == states.WAITING)
            .values(due_at=moment, updated_at=moment)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            await notify_in_transaction(session)
    services.notifier.work_queued()


async def cancel_run(services: Any, scope: Scope, execution_id: str) -> Execution:
    """Stop a queued, running or waiting run; its worker loses the lease and stops writing."""
    async with services.db.transaction() as session:
        execution = await get_execution(scope, execution_id, session=session)
        ended = RunEnded.of(execution, states.CANCELLED)
        writes = await ending_writes(services, ended)
        moment = now()
        result = await session.execute(
            update(Execution)
            .where(
                Execution.id == execution.id,
                Execution.status.in_(states.sources_of(states.CANCELLED)),
            )
            .values(
                status=states.CANCELLED,
                due_at=None,
                lease_owner=None,
                finished_at=moment,
                updated_at=moment,
                error={"message": "Cancelled"},
            )
        )
        await session.refresh(execution)
        if not result.rowcount:  # type: ignore[attr-defined]
            raise Conflict(
                f"Execution {execution_id} already finished ({execution.status})",
                error_code="EXECUTION_FINISHED",
            )
        if writes is not None:
            await writes(session)
    await after_run_ended(services, ended)
    return execution
