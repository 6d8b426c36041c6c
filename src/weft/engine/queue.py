"""A claimed run's writes: lease renewal, fenced step commits, the steps it already committed.

Claiming, parking, ending and releasing runs (every status change) are in engine.lifecycle.

Every write a worker makes for a claimed execution is fenced by its lease
(`WHERE id = :id AND lease_owner = :me AND status = 'running'`): zero rows means the lease was
lost (reclaimed after expiry, or cancelled) and the worker stops writing.

Lock order: a transaction that writes several execution rows takes their locks in id order
(lease renewal, release, group commit). Two such transactions can then never wait on each other
in a circle; PostgreSQL would abort one of them as a deadlock.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Update, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.engine import states
from weft.engine.answers import announce_answers, answers_a_caller
from weft.ids import new_id
from weft.observability.metrics import observe_step
from weft.store.db import Database
from weft.store.tables import Execution, Step

log = logging.getLogger("weft.queue")


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
    # More writes that must land with this one, and only if the lease held (notifications).
    also: Callable[[AsyncSession], Awaitable[Any]] | None = None
    # A directly started run's first commit (engine.direct): its row, inserted with `values`
    # instead of updated (nobody else can hold a row that did not exist).
    insert: dict[str, Any] | None = None


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


async def apply_writes(session: AsyncSession, writes: list[FencedWrite]) -> list[bool]:
    """`apply_fenced` in `session`'s transaction, then each held write's `also` writes."""
    held = await session.run_sync(lambda sync: apply_fenced(sync.connection(), writes))
    for write, applied in zip(writes, held, strict=True):
        if applied and write.also is not None:
            try:  # in a savepoint: its failure must not undo the run's own end
                async with session.begin_nested():
                    await write.also(session)
            except Exception:
                log.exception("extra writes for %s failed", write.execution_id)
    return held


# Built once, for the same reason as _fenced_update.
_INSERT_EXECUTIONS = insert(Execution.__table__)
_INSERT_STEPS = insert(Step.__table__)


def apply_fenced(connection: Connection, writes: list[FencedWrite]) -> list[bool]:
    """Apply each write whose lease still holds (not its `also`); which ones did.

    New rows go in one insert, steps in another, fenced updates of the same columns in one
    executemany where the driver counts its rows (SQLite). Core statements on a plain
    connection, so a whole batch can run on SQLite's writer thread (Database.write_batch)."""
    new_rows = [{**w.insert, **w.values} for w in writes if w.insert is not None]
    if new_rows:
        connection.execute(_INSERT_EXECUTIONS, new_rows)
    updates = [i for i, w in enumerate(writes) if w.insert is None]
    held = [True] * len(writes)
    if len(updates) > 1 and connection.dialect.supports_sane_multi_rowcount:
        _update_together(connection, [writes[i] for i in updates])
    else:
        # In id order, as lease renewal locks them (see the module's note on lock order).
        for index in sorted(updates, key=lambda i: writes[i].execution_id):
            write = writes[index]
            result = connection.execute(_fenced_update(tuple(sorted(write.values))), _params(write))
            held[index] = result.rowcount == 1
    steps = [step for write, ok in zip(writes, held, strict=True) if ok for step in write.steps]
    if steps:
        connection.execute(_INSERT_STEPS, steps)
    answered = zip(writes, held, strict=True)
    announce_answers(
        connection, (w.execution_id for w, ok in answered if ok and answers_a_caller(w.values))
    )
    return held


class PartlyFenced(Exception):
    """A shared update missed some rows: a lease was lost; the writes go one by one instead."""


def _update_together(connection: Connection, writes: list[FencedWrite]) -> None:
    """The fenced updates of `writes`, one executemany per set of columns; raises PartlyFenced
    (the caller's group commit then retries each write alone) unless every row matched."""
    groups: dict[tuple[str, ...], list[FencedWrite]] = {}
    for write in sorted(writes, key=lambda w: w.execution_id):
        groups.setdefault(tuple(sorted(write.values)), []).append(write)
    for columns, members in groups.items():
        params = [_params(w) for w in members]
        if connection.execute(_fenced_update(columns), params).rowcount != len(members):
            raise PartlyFenced()


def _params(write: FencedWrite) -> dict[str, Any]:
    return {
        **{f"set_{column}": value for column, value in write.values.items()},
        "fence_id": write.execution_id,
        "fence_owner": write.owner,
        "fence_attempt": write.attempt,
    }


@functools.cache
def _fenced_update(columns: tuple[str, ...]) -> Update:
    """The fenced UPDATE setting `columns`, built once: SQLAlchemy memoises a statement's cache
    key on the object, and a fresh statement per write cost more CPU than the write itself."""
    table = Execution.__table__
    return (
        update(table)
        .where(
            table.c.id == bindparam("fence_id"),
            table.c.lease_owner == bindparam("fence_owner"),
            table.c.attempt == bindparam("fence_attempt"),
            table.c.status == states.RUNNING,
        )
        .values({column: bindparam(f"set_{column}") for column in columns})
    )


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
    observe_step(node.type, status, (finished - started_at).total_seconds())
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
        "duration_ms": (finished - started_at).total_seconds() * 1000,
        "logs": None,
    }
