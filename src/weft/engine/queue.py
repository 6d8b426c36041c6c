"""The execution queue: enqueue, claim in batches, lease renewal, fenced writes, finishing.

Every write a worker makes for a claimed execution is fenced by its lease
(`WHERE id = :id AND lease_owner = :me AND status = 'running'`): zero rows means the lease was
lost (reclaimed after expiry, or cancelled) and the worker stops writing.

Lock order: a transaction that writes several execution rows takes their locks in id order
(lease renewal, release, group commit). Two such transactions can then never wait on each other
in a circle; PostgreSQL would abort one of them as a deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.engine import states
from weft.ids import new_id
from weft.store.db import Database
from weft.store.tables import Execution, Step

log = logging.getLogger("weft.queue")


class LeaseLost(Exception):
    """This worker no longer owns the execution; it must stop without writing."""


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


_CLAIM_COLUMNS = (
    "id, org_id, environment, linked_account_pk, workflow_id, version, is_test, trigger, "
    "input, attempt, created_at, parent_execution_id, config"
)

# Candidates are due rows; each linked account gets slots up to its concurrency limit, counting
# what it already runs; ordering by slot first picks round-robin across linked accounts.
_RANKED = """
running AS (
    SELECT linked_account_pk, count(*) AS n FROM executions
    WHERE due_at > :now AND status = 'running' GROUP BY linked_account_pk
),
ranked AS (
    SELECT c.id, c.due_at,
           row_number() OVER (PARTITION BY c.linked_account_pk ORDER BY c.due_at, c.id)
             + coalesce(r.n, 0) AS slot
    FROM candidates c LEFT JOIN running r ON r.linked_account_pk = c.linked_account_pk
),
chosen AS (
    SELECT id FROM ranked WHERE slot <= :per_account ORDER BY slot, due_at LIMIT :n
)
"""

_SET_CLAIMED = (
    "SET status = 'running', lease_owner = :me, due_at = :lease_until, attempt = attempt + 1, "
    "started_at = coalesce(started_at, :now), updated_at = :now"
)

CLAIM_SQL = {
    "postgresql": text(
        "WITH candidates AS (SELECT id, linked_account_pk, due_at FROM executions "
        "WHERE due_at <= :now ORDER BY due_at LIMIT :scan FOR UPDATE SKIP LOCKED), "
        + _RANKED
        + f"UPDATE executions {_SET_CLAIMED} WHERE id IN (SELECT id FROM chosen) "
        f"RETURNING {_CLAIM_COLUMNS}"
    ),
    # SQLite: the transaction is BEGIN IMMEDIATE (store.db), so the claim is serialised.
    "sqlite": text(
        "WITH candidates AS (SELECT id, linked_account_pk, due_at FROM executions "
        "WHERE due_at <= :now ORDER BY due_at LIMIT :scan), "
        + _RANKED
        + f"UPDATE executions {_SET_CLAIMED} WHERE id IN (SELECT id FROM chosen) "
        f"RETURNING {_CLAIM_COLUMNS}"
    ),
}


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
    columns = Execution.__table__.c
    # Typed bind parameters and result columns, so dates and JSON convert as through the ORM.
    stmt = (
        CLAIM_SQL[db.dialect]
        .bindparams(
            bindparam("now", type_=columns.due_at.type),
            bindparam("lease_until", type_=columns.due_at.type),
        )
        .columns(*(columns[name.strip()] for name in _CLAIM_COLUMNS.split(",")))
    )
    async with db.transaction() as session:
        rows = (await session.execute(stmt, params)).mappings().all()
    return [_claimed(row) for row in rows]


def _claimed(row: Any) -> Claimed:
    values = dict(row)
    values["is_test"] = bool(values["is_test"])
    return Claimed(**values)


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
        locked = await _lock_in_id_order(session, *held)
        if not locked:
            return set()
        await session.execute(
            update(Execution)
            .where(Execution.id.in_(locked))
            .values(due_at=moment + timedelta(seconds=lease_s), updated_at=moment)
        )
        return set(locked)


async def _lock_in_id_order(session: AsyncSession, *conditions: Any) -> list[str]:
    """Lock the execution rows matching `conditions` one by one in id order; their ids."""
    stmt = select(Execution.id).where(*conditions).order_by(Execution.id).with_for_update()
    return list(await session.scalars(stmt))


def _fenced(execution_id: str, owner: str) -> Any:
    return update(Execution).where(
        Execution.id == execution_id,
        Execution.lease_owner == owner,
        Execution.status == states.RUNNING,
    )


@dataclass(frozen=True)
class FencedWrite:
    """Column values for one execution plus steps to insert, valid only under its lease."""

    execution_id: str
    owner: str
    values: dict[str, Any]
    steps: list[dict[str, Any]]
    # More writes that must land with this one, and only if the lease held (notifications).
    also: Callable[[AsyncSession], Awaitable[Any]] | None = None


def step_commit(
    *,
    execution_id: str,
    owner: str,
    steps: list[dict[str, Any]],
    lease_s: float,
    response: Any = None,
) -> FencedWrite:
    """Finished steps (and a respond node's answer), renewing the lease as they land."""
    moment = now()
    values: dict[str, Any] = {"due_at": moment + timedelta(seconds=lease_s), "updated_at": moment}
    if response is not None:
        values["response"] = response
    return FencedWrite(execution_id, owner, values, steps)


def finishing(
    *,
    execution_id: str,
    owner: str,
    status: str,
    steps: list[dict[str, Any]],
    output: Any = None,
    error: Any = None,
    response: Any = None,
    wake_at: datetime | None = None,
    also: Callable[[AsyncSession], Awaitable[Any]] | None = None,
) -> FencedWrite:
    """The end of a run (or its park: status=waiting with `wake_at`), with its last steps."""
    states.check_transition(states.RUNNING, status)
    moment = now()
    values: dict[str, Any] = {"status": status, "lease_owner": None, "updated_at": moment}
    if status == states.WAITING:
        values["due_at"] = wake_at
    else:
        values.update(due_at=None, finished_at=moment, output=output, error=error)
    if response is not None:
        values["response"] = response
    return FencedWrite(execution_id, owner, values, steps, also)


async def apply_writes(session: AsyncSession, writes: list[FencedWrite]) -> list[bool]:
    """Apply each write whose lease still holds; which ones did. Steps go in one insert."""
    applied = [False] * len(writes)
    steps: list[dict[str, Any]] = []
    # In id order, as lease renewal locks them (see the module's note on lock order).
    for index in sorted(range(len(writes)), key=lambda i: writes[i].execution_id):
        write = writes[index]
        result = await session.execute(
            _fenced(write.execution_id, write.owner).values(**write.values)
        )
        held = result.rowcount == 1  # type: ignore[attr-defined]
        applied[index] = held
        if held:
            steps.extend(write.steps)
            if write.also is not None:
                try:  # in a savepoint: its failure must not undo the run's own end
                    async with session.begin_nested():
                        await write.also(session)
                except Exception:
                    log.exception("extra writes for %s failed", write.execution_id)
    if steps:
        await session.execute(insert(Step), steps)
    return applied


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


async def release_leases(db: Database, *, owner: str) -> int:
    """Hand back every run this owner still holds, due at once for another worker."""
    moment = now()
    async with db.transaction() as session:
        locked = await _lock_in_id_order(
            session, Execution.lease_owner == owner, Execution.status == states.RUNNING
        )
        if locked:
            await session.execute(
                update(Execution)
                .where(Execution.id.in_(locked))
                .values(lease_owner=None, due_at=moment, updated_at=moment)
            )
        return len(locked)
