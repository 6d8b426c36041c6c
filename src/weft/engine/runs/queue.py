"""A claimed run's writes: lease renewal, fenced step commits, the steps it already committed.

Claiming, parking, ending and releasing runs (every status change) are in engine.runs.lifecycle.

Every write a worker makes for a claimed execution is fenced by its lease
(`WHERE id = :id AND lease_owner = :me AND status = 'running'`): zero rows means the lease was
lost (reclaimed after expiry, or cancelled) and the worker stops writing.

Lock order: a transaction that writes several execution rows takes their locks in id order
(lease renewal, release, group commit). Two such transactions can then never wait on each other
in a circle; PostgreSQL would abort one of them as a deadlock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.engine.runs import states
from weft.engine.runs.failure_streaks import RunOutcome, outcome_rows_valid
from weft.ids import new_id
from weft.observability.metrics import observe_step
from weft.store.db import Database
from weft.store.json_codec import valid_json
from weft.store.tables import Execution, Step


class LeaseLost(Exception):
    """This worker no longer owns the execution; it must stop without writing."""


class LeaseDeadlines:
    """When each claimed run's lease runs out, as this worker last made sure of it.

    Fenced writes stop a worker that lost a lease from writing, but not from calling the world
    outside: a worker that stalled past its lease (while another claimed the run) would still
    make the call it was about to make. So a step with outside effects starts only while the
    lease is known to hold. Deadlines are counted on the monotonic clock from *before* the
    statement that set the lease, so they never run later than the database's; and on the wall
    clock too, which other workers compare the lease with: when it jumps forward past the
    lease, they may reclaim the run at once, so this worker must stop calling out then as well.
    """

    def __init__(self, lease_s: float) -> None:
        self.lease_s = lease_s
        # id -> (attempt, monotonic deadline, wall-clock deadline)
        self._until: dict[str, tuple[int, float, datetime]] = {}

    def _deadlines(self, since: float) -> tuple[float, datetime]:
        # The wall clock as it read at `since` (the statement read it a little later).
        wall_since = now() - timedelta(seconds=time.monotonic() - since)
        return since + self.lease_s, wall_since + timedelta(seconds=self.lease_s)

    def claimed(self, run: Claimed, since: float) -> None:
        """A claim made by a statement sent at `since` (time.monotonic())."""
        self._until[run.id] = (run.attempt, *self._deadlines(since))

    def renewed(self, execution_id: str, since: float) -> None:
        """The lease of the run's current claim was renewed by a statement sent at `since`."""
        held = self._until.get(execution_id)
        if held is not None:
            mono, wall = self._deadlines(since)
            self._until[execution_id] = (held[0], max(held[1], mono), max(held[2], wall))

    def check(self, execution_id: str, attempt: int) -> None:
        """Raise LeaseLost unless this claim's lease is known to hold now."""
        held = self._until.get(execution_id)
        if held is None or held[0] != attempt:
            raise LeaseLost()
        if time.monotonic() >= held[1] or now() >= held[2]:
            raise LeaseLost()

    def forget(self, execution_id: str, attempt: int) -> None:
        """The claim's run stopped (a newer claim of the same run keeps its deadline)."""
        if self._until.get(execution_id, (None,))[0] == attempt:
            del self._until[execution_id]


@dataclass(frozen=True)
class Claimed:
    """What a worker needs to run a claimed execution."""

    id: str
    org_id: str
    environment: str
    linked_account_pk: str
    workflow_id: str
    version: int | None
    is_test: bool
    trigger: str
    input: Any
    attempt: int
    created_at: datetime
    parent_execution_id: str | None
    config: Any = None  # a public workflow's run: {config_id, fields, data_slots}


CLAIMED_FIELDS = tuple(Claimed.__dataclass_fields__)


async def renew_leases(db: Database, *, owner: str, ids: list[str], lease_s: float) -> set[str]:
    """Extend the leases this owner holds on `ids`; returns the ids it still holds."""
    if not ids:
        return set()
    moment = now()
    held = (
        Execution.id.in_(ids),
        Execution.lease_owner == owner,
        Execution.status == states.RUNNING,
    )
    async with db.transaction() as session:
        locked = await lock_in_id_order(session, *held)
        if not locked:
            return set()
        await session.execute(
            update(Execution)
            .where(Execution.id.in_(locked))
            .values(due_at=moment + timedelta(seconds=lease_s), updated_at=moment)
        )
        return set(locked)


async def lock_in_id_order(session: AsyncSession, *conditions: Any) -> list[str]:
    """Lock the execution rows matching `conditions` one by one in id order; their ids."""
    stmt = select(Execution.id).where(*conditions).order_by(Execution.id).with_for_update()
    return list(await session.scalars(stmt))


def fenced(execution_id: str, owner: str, attempt: int) -> Any:
    """An UPDATE of one execution that matches only while this claim of it still holds.

    The attempt number tells claims apart: a worker whose lease expired while it was stalled
    may claim the same run again, and its first claim must then be fenced out too.
    """
    return update(Execution).where(
        Execution.id == execution_id,
        Execution.lease_owner == owner,
        Execution.attempt == attempt,
        Execution.status == states.RUNNING,
    )


@dataclass(frozen=True)
class FencedWrite:
    """Column values for one execution plus steps to insert, valid only under its lease."""

    execution_id: str
    owner: str
    attempt: int
    values: dict[str, Any]
    steps: list[dict[str, Any]]
    # Org notification deliveries (notification_deliveries rows) that land with this write,
    # and only if its lease held: a run's end queues its `Workflow Completed` webhooks so.
    notifications: Sequence[dict[str, Any]] = ()
    # A directly started run's first commit (engine.starts.direct): its row, inserted with `values`
    # instead of updated (nobody else can hold a row that did not exist).
    insert: dict[str, Any] | None = None
    # The run this write makes due now, if it is waiting, in the same transaction and only if the
    # lease held: a sub-workflow run's end wakes its parent so (engine.runs.lifecycle.end_run).
    wakes: str | None = None
    # A run end's move of its workflow's failure streak (engine.runs.failure_streaks), recorded
    # in the same transaction and only if the lease held.
    outcome: RunOutcome | None = None
    # A run's end: what the whole run used (engine.interpreter.metering), added to its day's
    # usage_daily row in the same transaction and only if the lease held.
    usage: dict[str, Any] | None = None

    def made_valid(self) -> FencedWrite:
        """The same write, its strings made valid as a JSON column stores them
        (store.json_codec): for a database that refused a NUL the write left in."""
        return replace(
            self,
            values=valid_json(self.values),
            steps=valid_json(self.steps),
            notifications=valid_json(list(self.notifications)),
            insert=valid_json(self.insert),
            outcome=outcome_rows_valid(self.outcome, valid_json),
        )


def wake_waiting(ids: Sequence[str], moment: datetime) -> Any:
    """The UPDATE making the waiting runs among `ids` due at `moment` (others are left alone:
    a running parent reads its child when it parks, engine.runs.lifecycle.park_run)."""
    table = Execution.__table__
    return (
        update(table)
        .where(table.c.id.in_(ids), table.c.status == states.WAITING)
        .values(due_at=moment, updated_at=moment)
    )


def wake_within_batch(writes: Sequence[FencedWrite], moment: datetime) -> None:
    """A park and the end that wakes it in one batch: the park is due at once. (PostgreSQL's batch
    is one statement, whose wake sees the parent as it was before the park.)"""
    woken = {write.wakes for write in writes if write.wakes}
    for write in writes:
        if write.execution_id in woken and write.values.get("status") == states.WAITING:
            write.values["due_at"] = moment


def insert_only(row: dict[str, Any]) -> FencedWrite:
    """Write a directly started run's row on its own (its id is about to be handed out)."""
    return FencedWrite(row["id"], row["lease_owner"], row["attempt"], {}, [], insert=row)


def step_commit(
    *,
    execution_id: str,
    owner: str,
    attempt: int,
    steps: list[dict[str, Any]],
    lease_s: float,
    response: Any = None,
    insert: dict[str, Any] | None = None,
) -> FencedWrite:
    """Finished steps (and a respond node's answer), renewing the lease as they land."""
    moment = now()
    values: dict[str, Any] = {"due_at": moment + timedelta(seconds=lease_s), "updated_at": moment}
    if response is not None:
        values["response"] = response
    return FencedWrite(execution_id, owner, attempt, values, steps, insert=insert)


async def load_steps(db: Database, execution_id: str) -> list[Step]:
    """Committed steps of an execution, in the order they finished."""
    async with db.reading() as session:
        stmt = select(Step).where(Step.execution_id == execution_id).order_by(Step.id)
        return list(await session.scalars(stmt))


def new_step_row(
    *,
    execution_id: str,
    node: Any,
    iteration: str,
    status: str,
    started_at: datetime,
    input: Any = None,
    output: Any = None,
    error: Any = None,
    branch: str | None = None,
    attempt: int = 1,
) -> dict[str, Any]:
    """A step row ready for a bulk insert."""
    finished = now()
    seconds = (finished - started_at).total_seconds()
    observe_step(node.type, status, seconds)
    return {
        "id": new_id(),
        "execution_id": execution_id,
        "node_id": node.id,
        "node_type": node.type,
        "node_name": node.name,
        "iteration": iteration,
        "status": status,
        "branch": branch,
        "input": input,
        "output": output,
        "error": error,
        "attempt": attempt,
        "started_at": started_at,
        "finished_at": finished,
        "duration_ms": seconds * 1000,
        "logs": None,
    }
