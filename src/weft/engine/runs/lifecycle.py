"""The life cycle of a run: every status change of an execution, and what follows its end.

Each change checks the transition table (engine.runs.states) and its SQL guard is generated from it:

| change  | from -> to                                 | function                         |
| ------- | ------------------------------------------ | -------------------------------- |
| queue   | (new) -> queued                            | `queue_runs` (rows: triggers)    |
| adopt   | (new) -> running, leased here (direct)     | `lease_new_run` (via `start_run`) |
| claim   | queued, waiting, running (lease expired) -> running | `claim_due_executions`  |
| park    | running -> waiting                         | `park_run`                       |
| wake    | waiting, due later -> waiting, due now     | `wake_waiting_run`               |
| end     | running -> succeeded, failed, errored      | `end_run`                        |
| cancel  | queued, running, waiting -> cancelled      | `cancel_run`                     |
| release | running -> running, unleased and due now   | `release_leases`                 |

Whichever route a run takes into a terminal status, the same "run ended" hooks run: first the
rows that must land in the very transaction that records the end (the org's notifications, so a
crash cannot separate them from it; through the group commit's writer like the end itself), then,
after the commit, the wake-ups of whoever waits on the run. A waiting parent is made due in the
ending transaction itself (`FencedWrite.wakes`), so its wake-up cannot be lost between the commit
and the hooks; the commit and the hooks run as one task a cancellation cannot split
(`uncancelled`), so they run once per end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.engine.interpreter.metering import RunUsage
from weft.engine.runs import queue, states
from weft.engine.runs.claim_sql import claim_statement
from weft.engine.runs.failure_streaks import RunOutcome, error_sentence
from weft.engine.runs.history import get_execution
from weft.engine.runs.queue import CLAIMED_FIELDS, Claimed, FencedWrite, lock_in_id_order
from weft.engine.starts.direct import StartedRun
from weft.engine.workers.answers import RunAnswer, announce_answers
from weft.engine.workers.wakeups import wake_workers_in_transaction
from weft.errors import Conflict
from weft.notifications import WORKFLOW_ERRORED, WORKFLOW_PAUSED, run_deliveries
from weft.notifications.events import QUOTA_REACHED
from weft.notifications.outbox import enqueue_event_notifications
from weft.observability.metrics import (
    observe_claim_latency,
    observe_quota_refused,
    observe_run_ended,
)
from weft.store.db import Database
from weft.store.dialects import dialect_of
from weft.store.new_rows import new_rows
from weft.store.scope import Scope
from weft.store.tables import Execution, NotificationDelivery, Step
from weft.store.usage_rows import add_usage
from weft.tenancy import quotas

if TYPE_CHECKING:
    from weft.engine.workers.services import Services

log = logging.getLogger("weft.runs")


def may_become(new: str) -> Any:
    """SQL guard: the row's status is one the table lets go to `new`."""
    return Execution.status.in_(states.sources_of(new))


# -- claim and release ----------------------------------------------------------------------


async def claim_due_executions(
    db: Database, *, owner: str, limit: int, lease_s: float, per_account: int
) -> list[Claimed]:
    """Claim up to `limit` due executions for `owner`, fairly across linked accounts."""
    moment = now()
    params = {
        "now": moment,
        "me": owner,
        "lease_until": moment + timedelta(seconds=lease_s),
        "n": limit,
        "scan": limit * 4,
        "per_account": per_account,
    }
    stmt = claim_statement(db.dialect)
    async with db.transaction() as session:
        rows = (await session.execute(stmt, params)).mappings().all()
    claimed = []
    for row in rows:
        values = dict(row)
        observe_claim_latency(values.pop("was_due"), moment)
        claimed.append(Claimed(**{**values, "is_test": bool(values["is_test"])}))
    return claimed


async def release_leases(db: Database, *, owner: str) -> int:
    """Hand back every run this owner still holds, due at once for another worker."""
    moment = now()
    async with db.transaction() as session:
        held = await lock_in_id_order(
            session, Execution.lease_owner == owner, Execution.status == states.RUNNING
        )
        if held:
            await session.execute(
                update(Execution)
                .where(Execution.id.in_(held))
                .values(lease_owner=None, due_at=moment, updated_at=moment)
            )
        return len(held)


# -- park, wake and end (a worker's side, through its group commit) --------------------------


def finishing(
    *,
    execution_id: str,
    owner: str,
    attempt: int,
    status: str,
    steps: list[dict[str, Any]],
    output: Any = None,
    error: Any = None,
    response: Any = None,
    wake_at: datetime | None = None,
    notifications: list[dict[str, Any]] | None = None,
    insert: dict[str, Any] | None = None,
    wakes: str | None = None,
    outcome: RunOutcome | None = None,
    usage: dict[str, Any] | None = None,
) -> FencedWrite:
    """The fenced write that ends a run (or parks it: status=waiting with `wake_at`); `wakes`:
    the waiting run its landing makes due (an ending sub-workflow run's parent)."""
    states.check_transition(states.RUNNING, status)
    moment = now()
    values: dict[str, Any] = {"status": status, "lease_owner": None, "updated_at": moment}
    if status == states.WAITING:
        values["due_at"] = wake_at
    else:
        values.update(due_at=None, finished_at=moment, output=output, error=error)
    if response is not None:
        values["response"] = response
    return FencedWrite(
        execution_id,
        owner,
        attempt,
        values,
        steps,
        notifications or (),
        insert,
        wakes,
        outcome=outcome,
        usage=usage,
    )


async def park_run(
    services: Services,
    commits: Any,
    claimed: Claimed,
    *,
    owner: str,
    steps: list[dict[str, Any]],
    wake_at: datetime,
    response: Any = None,
    child_id: str | None = None,
    insert: dict[str, Any] | None = None,
) -> None:
    """Release a run until `wake_at` (a delay) or until its sub-workflow run `child_id` ends.

    `insert`: a directly started run's row, written by this commit (engine.starts.direct)."""
    parking = finishing(
        execution_id=claimed.id,
        owner=owner,
        attempt=claimed.attempt,
        status=states.WAITING,
        steps=steps,
        wake_at=wake_at,
        response=response,
        insert=insert,
    )

    async def park_then_look() -> None:
        await commits.write(parking)
        if child_id and await _has_ended(services.db, child_id):
            # The child ended before this run parked, so its end found nothing to wake.
            await wake_waiting_run(services, claimed.id)

    await uncancelled(park_then_look())


async def end_run(
    services: Services,
    commits: Any,
    claimed: Claimed,
    status: str,
    *,
    owner: str,
    steps: list[dict[str, Any]],
    insert: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Record a run's end with its last steps, then run the "run ended" hooks.

    `insert`: a directly started run's row, written by this commit (engine.starts.direct);
    `usage`: what the run used, metered with the end (engine.interpreter.metering)."""
    ending = {key: values.get(key) for key in ("output", "error", "response")}
    ended = RunEnded.of(claimed, status, **ending)
    outcome, notifications = await run_outcome(services, ended, await ending_rows(services, ended))
    write = finishing(
        execution_id=claimed.id,
        owner=owner,
        attempt=claimed.attempt,
        status=status,
        steps=steps,
        notifications=notifications,
        insert=insert,
        wakes=claimed.parent_execution_id,
        outcome=outcome,
        usage=usage,
        **values,
    )

    async def end_then_hooks() -> None:
        await commits.write(write)
        log.info("run ended", extra={"status": status})  # once per end, as the hooks
        await after_run_ended(services, ended)

    await uncancelled(end_then_hooks())


async def uncancelled(commit_and_after: Awaitable[None]) -> None:
    """Await a commit and what must follow it as one task that cancelling the caller cannot split.

    The worker's heartbeat cancels a run whose lease it no longer finds, and a run that has
    just ended or parked holds none: cancelled between its commit and its hooks, it would stay
    ended with its waiters never told (a parent parked on it until the backstop)."""
    task = asyncio.ensure_future(commit_and_after)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_outcome_read)
        raise


def _outcome_read(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()


async def wake_waiting_run(services: Services, execution_id: str) -> None:
    """Make a waiting run due now (its child ended); nothing if it is not waiting."""
    moment = now()
    async with services.db.transaction() as session:
        result = await session.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == states.WAITING)
            .values(due_at=moment, updated_at=moment)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            await wake_workers_in_transaction(session)
    services.wakeups.work_queued()


async def _has_ended(db: Database, execution_id: str) -> bool:
    async with db.reading() as session:
        status = await session.scalar(select(Execution.status).where(Execution.id == execution_id))
    return status in states.TERMINAL


# -- cancel (a user's side) -------------------------------------------------------------------


async def cancel_run(services: Services, scope: Scope, execution_id: str) -> Execution:
    """Stop a queued, running or waiting run; its worker loses the lease and stops writing."""
    async with services.db.transaction() as session:
        execution = await get_execution(scope, execution_id, session=session)
        cancelled = {"message": "Cancelled"}
        ended = RunEnded.of(
            execution, states.CANCELLED, error=cancelled, response=execution.response
        )
        notifications = await ending_rows(services, ended)
        moment = now()
        result = await session.execute(
            update(Execution)
            .where(Execution.id == execution.id, may_become(states.CANCELLED))
            .values(
                status=states.CANCELLED,
                due_at=None,
                lease_owner=None,
                finished_at=moment,
                updated_at=moment,
                error=cancelled,
            )
        )
        await session.refresh(execution)
        if not result.rowcount:  # type: ignore[attr-defined]
            raise Conflict(
                f"Execution {execution_id} already finished ({execution.status})",
                error_code="EXECUTION_FINISHED",
            )
        if notifications:
            await session.execute(insert(NotificationDelivery.__table__), notifications)
        await meter_cancelled(services, session, execution)
        if execution.parent_execution_id:  # its parent learns of the end with the end itself
            await session.execute(queue.wake_waiting([execution.parent_execution_id], moment))
            await wake_workers_in_transaction(session)
        await session.run_sync(lambda sync: announce_answers(sync.connection(), [execution.id]))
    await uncancelled(after_run_ended(services, ended))
    return execution


async def meter_cancelled(services: Services, session: AsyncSession, execution: Execution) -> None:
    """A cancelled run's usage, from the steps it committed (none: not counted), with its end."""
    found = await session.execute(
        select(Step.node_id, Step.node_type, Step.attempt, Step.duration_ms).where(
            Step.execution_id == execution.id
        )
    )
    steps = [row._asdict() for row in found]
    if not steps:
        return
    try:
        plan = await services.plan_for(execution)
    except LookupError:  # its version is gone: the steps still count
        plan = None
    usage = RunUsage()
    usage.add(plan, steps)
    await session.execute(add_usage(dialect_of(session)), [usage.row(execution)])


# -- "run ended" hooks ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunEnded:
    """A run that reached a terminal status, with what the hooks need to know about it."""

    id: str
    org_id: str
    environment: str
    workflow_id: str
    linked_account_pk: str
    is_test: bool
    parent_execution_id: str | None
    status: str
    output: Any = None
    error: Any = None
    response: Any = None

    @classmethod
    def of(cls, run: Any, status: str, **ending: Any) -> RunEnded:
        """From a claimed run or an execution row; `ending`: its output, error and response."""
        return cls(
            id=run.id,
            org_id=run.org_id,
            environment=run.environment,
            workflow_id=run.workflow_id,
            linked_account_pk=run.linked_account_pk,
            is_test=bool(run.is_test),
            parent_execution_id=run.parent_execution_id,
            status=status,
            **ending,
        )


class RunEndedHook:
    """One consequence of a run's end: rows in the ending transaction, wake-ups after it."""

    async def notifications(self, services: Services, ended: RunEnded) -> list[dict[str, Any]]:
        """Notification deliveries to land with the end (read before the transaction)."""
        return []

    async def after_commit(self, services: Services, ended: RunEnded) -> None:
        """What to do once the end is committed."""


class QueueOrgNotifications(RunEndedHook):
    """The org's `Workflow Completed` / `Workflow Errored` webhooks, queued with the end."""

    async def notifications(self, services: Services, ended: RunEnded) -> list[dict[str, Any]]:
        event = states.NOTIFIED_EVENTS.get(ended.status)
        if event is None:
            return []
        return await run_deliveries(services.db, ended, event, states.API_STATUS[ended.status])


class WakeRunWaiters(RunEndedHook):
    """In-process callers waiting on the run: sync callers get its answer (no read of the row),
    tests and event streams look again."""

    async def after_commit(self, services: Services, ended: RunEnded) -> None:
        services.answers.publish(
            RunAnswer(ended.id, ended.status, ended.response, ended.output, ended.error)
        )
        services.wakeups.run_changed(ended.id)


class WakeWaitingParent(RunEndedHook):
    """A parent run parked on this sub-workflow run is due again, to read how it ended: the
    ending transaction made it due (and woke other processes' workers); this process's claim now."""

    async def after_commit(self, services: Services, ended: RunEnded) -> None:
        if ended.parent_execution_id and ended.id not in services.wakeups.children_awaited:
            services.wakeups.work_queued()


class CountRunEnded(RunEndedHook):
    """The `weft_runs_ended` metric, by status."""

    async def after_commit(self, services: Services, ended: RunEnded) -> None:
        observe_run_ended(ended.status)


RUN_ENDED_HOOKS: tuple[RunEndedHook, ...] = (
    QueueOrgNotifications(),
    CountRunEnded(),
    WakeRunWaiters(),
    WakeWaitingParent(),
)


async def ending_rows(services: Services, ended: RunEnded) -> list[dict[str, Any]]:
    """The notification deliveries the hooks queue in the transaction that ends the run."""
    return [row for hook in RUN_ENDED_HOOKS for row in await hook.notifications(services, ended)]


async def run_outcome(
    services: Services, ended: RunEnded, notifications: list[dict[str, Any]]
) -> tuple[RunOutcome | None, list[dict[str, Any]]]:
    """How the end moves its workflow's failure streak, and the deliveries left to queue
    unconditionally: `Workflow Errored` moves into the outcome, whose throttle decides in the
    ending transaction. Test runs, cancelled runs and runs Weft could not carry on (errored:
    not the workflow's fault) leave the streak alone."""
    if ended.is_test or ended.status not in (states.SUCCEEDED, states.FAILED):
        return None, notifications
    if ended.status == states.SUCCEEDED:
        return RunOutcome(ended.workflow_id, ended.org_id, ended.id, failed=False), notifications
    status = states.API_STATUS[ended.status]
    outcome = RunOutcome(
        ended.workflow_id,
        ended.org_id,
        ended.id,
        failed=True,
        error=error_sentence(ended.error),
        errored=[row for row in notifications if row["event"] == WORKFLOW_ERRORED],
        paused=await run_deliveries(services.db, ended, WORKFLOW_PAUSED, status),
        window_s=services.settings.workflow_errored_window_s,
    )
    return outcome, [row for row in notifications if row["event"] != WORKFLOW_ERRORED]


async def after_run_ended(services: Services, ended: RunEnded) -> None:
    """Run every hook's after-commit part; call once the end is committed."""
    for hook in RUN_ENDED_HOOKS:
        await hook.after_commit(services, ended)


# -- queue (a trigger's side) -----------------------------------------------------------------


async def queue_runs(services: Services, start: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Queue run(s): `start` adds the queued rows (engine.starts.triggers) in the one transaction of
    the operation; other processes' workers are woken at its commit, this process's right after.
    The new rows are counted against their quotas in that transaction: past one, it rolls back
    and QuotaExceeded is raised (the org told once per period). Returns what `start` returned."""
    try:
        async with services.db.transaction() as session:
            with new_rows(session, Execution) as added:
                started = await start(session)
            await quotas.reserve(session, services.quotas, services.db, added, states.ACTIVE)
            await wake_workers_in_transaction(session)
    except quotas.QuotaExceeded as refused:
        await quota_refused(services, refused)
        raise
    services.wakeups.work_queued()
    return started


async def quota_refused(services: Services, refused: quotas.QuotaExceeded) -> None:
    """After a start refused past a quota was rolled back: count it, tell the org (once per
    quota and period)."""
    observe_quota_refused(refused.quota)
    await quotas.notify_reached(services.db, refused, _queue_quota_reached)


async def add_within_quotas(services: Services, session: AsyncSession, run: Execution) -> None:
    """Add a run that a timer started (a schedule's tick) to `session`'s transaction, counted
    against its quotas in a savepoint: past one, QuotaExceeded, and the run was not added (the
    rest of the transaction stands)."""
    limits = await services.quotas.applicable(
        services.db, run.org_id, run.environment, run.linked_account_pk, session
    )
    if not limits.any():
        session.add(run)
        return
    async with session.begin_nested():
        session.add(run)
        await session.flush()
        await quotas.reserve(session, services.quotas, services.db, [run], states.ACTIVE)


async def _queue_quota_reached(
    session: AsyncSession, org_id: str, environment: str, payload: dict[str, Any]
) -> None:
    await enqueue_event_notifications(
        session, org_id=org_id, environment=environment, event=QUOTA_REACHED, payload=payload
    )


async def start_run(services: Services, row: dict[str, Any]) -> StartedRun:
    """Start the execution `row` (triggers.execution_row) in this process at once when one of
    its workers has room (engine.starts.direct), else queue it for any worker. The run's id comes
    out of the handle only once its row is written (StartedRun.durable_id)."""
    limits = await services.quotas.applicable(
        services.db, row["org_id"], row["environment"], row["linked_account_pk"]
    )
    # A run under a quota is queued: its reservation and its row share one transaction.
    started = None if limits.any() else services.direct.start(row)
    if started is not None:
        return started

    async def insert_queued(session: AsyncSession) -> None:
        session.add(Execution(**row))
        await session.flush()

    await queue_runs(services, insert_queued)
    return StartedRun.written(row["id"])


def lease_new_run(row: dict[str, Any], *, owner: str, lease_s: float) -> Claimed:
    """A run started in this process (engine.starts.direct): the queued values `row` become a
    running run leased to `owner`, which its first commit writes (`insert` of its fenced writes)."""
    states.check_transition(row["status"], states.RUNNING)
    moment = now()
    row.update(
        status=states.RUNNING,
        lease_owner=owner,
        attempt=1,
        due_at=moment + timedelta(seconds=lease_s),
        started_at=moment,
        updated_at=moment,
    )
    return Claimed(**{name: row[name] for name in CLAIMED_FIELDS})
