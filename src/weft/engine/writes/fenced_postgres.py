"""The group commit's writes on PostgreSQL: a whole batch in one statement.

Same effect as `engine.writes.fenced_sqlite` (new rows inserted, updates fenced by lease, steps and
notifications of only the writes whose lease held), plus the answers announced at commit, but one
statement with data-modifying CTEs, run as a transaction of its own: one round trip, no BEGIN
or COMMIT.

    WITH i0 AS (INSERT INTO executions ... FROM json_to_recordset($1)),   directly started runs
         u0 AS (UPDATE executions ... FROM json_to_recordset($2)    one per set of columns,
                WHERE <the lease fence> RETURNING v.ord),           the writes that held
         held(ord) AS (the inserted writes, and every u's),
         s0 AS (INSERT INTO steps ... FROM json_to_recordset($4) WHERE ord IN held),
                                 a step whose output is its new run's input takes i0's value
         n0 AS (INSERT INTO notification_deliveries ... WHERE ord IN held AND <subscribed>),
         w AS (UPDATE executions ... WHERE id IN <the held writes' wakes> AND status = 'waiting'),
         m AS (INSERT INTO usage_daily ... ON CONFLICT DO UPDATE),  the held ends' usage
         r AS (UPDATE workflow_failures SET streak = 0 ...)   the held successes' workflows
    SELECT array(held), pg_notify(the held writes that answer a caller)

Each group of rows is one JSON document parameter (store.raw_postgres), so the statement's text
depends only on which columns the batch writes, not on its size: asyncpg prepares a handful of
texts once per connection. A write is known in the statement by its index in the batch
(`ord`): a batch may hold two writes of one execution (two claims of it, one fenced out). All
parts see one snapshot, and the steps' foreign keys are checked at the statement's end, when its
new runs are there.

A direct run's trigger step has the run's input as its output: that step's document carries no
copy (`from_run`), its output is the inserted row's jsonb. PostgreSQL's jsonb parse was most of
the cost of a big payload (~0.2 ms for 6 KB), and it was paid once per copy.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import Connection, Dialect

from weft.clock import now
from weft.engine.runs import states
from weft.engine.runs.failure_streaks import record_outcomes
from weft.engine.runs.queue import FencedWrite
from weft.engine.workers.answers import ANSWERS_CHANNEL, answers_a_caller, sender_token
from weft.engine.workers.wakeups import QUEUE_CHANNEL
from weft.engine.writes.deliveries import insert_deliveries
from weft.store.db import Database
from weft.store.raw_postgres import (
    NUL_REFUSED,
    Placeholders,
    RecordRows,
    recordset_from,
    value_of,
)
from weft.store.tables import (
    USAGE_COUNTS,
    USAGE_KEY,
    Execution,
    NotificationDelivery,
    NotificationSubscription,
    Step,
    UsageDaily,
    WorkflowFailures,
)

_FENCE = ("id", "lease_owner", "attempt")
_FENCE_FIELDS = [
    ("fence_id", "varchar"),
    ("fence_lease_owner", "varchar"),
    ("fence_attempt", "int4"),
]
_ORD = ("ord", "int4")
_FENCED_KEYS = (*(name for name, _type in _FENCE_FIELDS), _ORD[0])
_FROM_RUN = "from_run"


@dataclass(frozen=True)
class _Shape:
    """What a batch writes, which alone decides the statement's text."""

    inserts: tuple[tuple[str, ...], ...]  # the columns of each group of new execution rows
    updates: tuple[tuple[str, ...], ...]  # the columns each group of fenced updates sets
    steps: tuple[tuple[str, ...], ...]  # the columns of each group of step rows
    notify: bool  # some write answers a sync caller
    notifications: tuple[tuple[str, ...], ...] = ()  # the columns of each group of deliveries
    wakes: bool = False  # some write wakes a waiting run (a sub-workflow run's end, its parent)
    resets: bool = False  # some write ends a run in success (its workflow's streak is 0 again)
    usage: bool = False  # some write is a run's end, metered (engine.interpreter.metering)
    from_run: bool = False  # new runs are inserted: a step may take its run's input (module doc)


class PostgresWriter:
    """The fenced writer for PostgreSQL (engine.writes.commits.FencedWriter)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.raw = db.raw
        self.dialect = db.engine.dialect

    async def apply(self, writes: Sequence[FencedWrite]) -> list[bool]:
        """Apply each write whose lease still holds, in one statement; which ones did."""
        try:
            return await self._apply(writes)
        except NUL_REFUSED:
            # A run produced a NUL, which the documents leave to jsonb to find; the statement
            # wrote nothing, so the batch goes again, its strings made valid.
            return await self._apply([write.made_valid() for write in writes])

    async def _apply(self, writes: Sequence[FencedWrite]) -> list[bool]:
        if any(write.outcome is not None and write.outcome.failed for write in writes):
            return await _apply_with_failures(self.db, writes, self.dialect)
        return await apply_fenced_postgres(self.raw, writes, self.dialect)


class _Fetches(Protocol):
    async def fetch(self, sql: str, arguments: Sequence[Any]) -> list[Any]: ...


class _InTransaction:
    """The batch statement run on a connection whose transaction is already open."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def fetch(self, sql: str, arguments: Sequence[Any]) -> list[Any]:
        return list(await self.connection.fetch(sql, *arguments))


async def _apply_with_failures(
    db: Database, writes: Sequence[FencedWrite], dialect: Dialect
) -> list[bool]:
    """A batch ending some run in failure: after the usual batch statement, in its transaction,
    the held ends' failure streaks are counted (the workflow maybe paused) and the deliveries
    they queue inserted (engine.runs.failure_streaks). Executions are locked before the
    `workflow_failures` rows, as in a batch of successes. Rare (failures), so it may cost a
    BEGIN, a few statements and a COMMIT."""
    async with db.engine.begin() as connection:
        raw = await connection.get_raw_connection()
        plain = [replace(write, outcome=None) for write in writes]
        held = await apply_fenced_postgres(_InTransaction(raw.driver_connection), plain, dialect)
        outcomes = [w.outcome for w, ok in zip(writes, held, strict=True) if ok and w.outcome]

        def record(sync: Connection) -> None:
            insert_deliveries(sync, record_outcomes(sync, outcomes))

        await connection.run_sync(record)
        return held


async def apply_fenced_postgres(
    raw: _Fetches, writes: Sequence[FencedWrite], dialect: Dialect
) -> list[bool]:
    """Apply each write whose lease still holds; which ones did."""
    executions, steps, deliveries = _rows(dialect)
    arguments: list[Any] = []
    inserted = [i for i, write in enumerate(writes) if write.insert is not None]
    insert_groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for write in writes:
        if write.insert is not None:
            row = {**write.insert, **write.values}
            insert_groups.setdefault(frozenset(row), []).append(row)
    insert_columns = []
    for rows in insert_groups.values():
        columns = executions.columns_of(rows[0])
        insert_columns.append(columns)
        arguments.append(executions.document(columns, rows))

    update_groups: dict[tuple[str, ...], list[int]] = {}
    # In id order, as lease renewal locks them (see engine.runs.queue on lock order).
    for index in sorted(range(len(writes)), key=lambda i: writes[i].execution_id):
        if writes[index].insert is None:
            update_groups.setdefault(tuple(sorted(writes[index].values)), []).append(index)
    for columns, members in update_groups.items():
        fenced = [
            {
                **writes[i].values,
                "fence_id": writes[i].execution_id,
                "fence_lease_owner": writes[i].owner,
                "fence_attempt": writes[i].attempt,
                "ord": i,
            }
            for i in members
        ]
        arguments.append(executions.document(columns, fenced, _FENCED_KEYS))
        arguments.append([writes[i].execution_id for i in members])
    arguments.append(inserted)

    step_groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    from_run = bool(inserted)
    for index, write in enumerate(writes):
        run_input = write.insert.get("input") if write.insert is not None else None
        for step in write.steps:
            row = {**step, "ord": index}
            if from_run:
                # The same object, so the same value: the statement copies the inserted jsonb.
                row[_FROM_RUN] = run_input is not None and step.get("output") is run_input
                if row[_FROM_RUN]:
                    row["output"] = None
            step_groups.setdefault(frozenset(step), []).append(row)
    step_columns = []
    for rows in step_groups.values():
        columns = steps.columns_of(rows[0])
        step_columns.append(columns)
        arguments.append(
            steps.document(columns, rows, ("ord", _FROM_RUN) if from_run else ("ord",))
        )

    delivery_groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for index, write in enumerate(writes):
        for delivery in write.notifications:
            delivery_groups.setdefault(frozenset(delivery), []).append({**delivery, "ord": index})
    delivery_columns = []
    for rows in delivery_groups.values():
        columns = deliveries.columns_of(rows[0])
        delivery_columns.append(columns)
        arguments.append(deliveries.document(columns, rows, ("ord",)))

    metered = [{**write.usage, "ord": i} for i, write in enumerate(writes) if write.usage]
    if metered:
        arguments.append(_usage_rows(dialect).document(USAGE_COLUMNS, metered, ("ord",)))

    waking = [i for i, write in enumerate(writes) if write.wakes]
    if waking:
        arguments += [[writes[i].wakes for i in waking], waking, now()]

    # Successes set their workflow's failure streak back to 0 (engine.runs.failure_streaks).
    resetting = [i for i, write in enumerate(writes) if write.outcome is not None]
    if resetting:
        arguments += [[writes[i].outcome.workflow_id for i in resetting], resetting, now()]  # type: ignore[union-attr]

    answering = [i for i, write in enumerate(writes) if answers_a_caller(write.values)]
    if answering:
        ids = [write.execution_id for write in writes]
        arguments += [ANSWERS_CHANNEL, f"{sender_token()}:", ids, answering]

    shape = _Shape(
        tuple(insert_columns),
        tuple(update_groups),
        tuple(step_columns),
        bool(answering),
        tuple(delivery_columns),
        bool(waking),
        bool(resetting),
        bool(metered),
        from_run,
    )
    (row,) = await raw.fetch(_batch_sql(shape, dialect), arguments)
    held = set(row[0])
    return [i in held for i in range(len(writes))]


@functools.cache
def _rows(dialect: Dialect) -> tuple[RecordRows, RecordRows, RecordRows]:
    return (
        RecordRows(Execution.__table__, dialect),
        RecordRows(Step.__table__, dialect),
        RecordRows(NotificationDelivery.__table__, dialect),
    )


USAGE_COLUMNS = (*USAGE_KEY, *USAGE_COUNTS)


@functools.cache
def _usage_rows(dialect: Dialect) -> RecordRows:
    return RecordRows(UsageDaily.__table__, dialect)


def _usage_part(dialect: Dialect, placeholder: Placeholders) -> str:
    """The held ends' usage added to their days' rows: summed per row first (one statement may
    not update a row twice), in key order (two batches lock shared rows in one order)."""
    table = UsageDaily.__table__
    source = recordset_from(table, USAGE_COLUMNS, dialect, placeholder, extra=[_ORD])
    key = ", ".join(f'v."{c}"' for c in USAGE_KEY)
    sums = ", ".join(f'sum(v."{c}")' for c in USAGE_COUNTS)
    names = ", ".join(f'"{c}"' for c in USAGE_COLUMNS)
    added = ", ".join(f'"{c}" = t."{c}" + excluded."{c}"' for c in USAGE_COUNTS)
    conflict = ", ".join(f'"{c}"' for c in USAGE_KEY)
    return (
        f'm AS (INSERT INTO "{table.name}" AS t ({names}) SELECT {key}, {sums} FROM {source} '
        f"WHERE v.ord IN (SELECT ord FROM held) GROUP BY {key} ORDER BY {key} "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {added})"
    )


@functools.cache
def _batch_sql(shape: _Shape, dialect: Dialect) -> str:
    """The batch statement for `shape`; its parameters in the order apply_fenced_postgres
    builds them."""
    executions, steps = Execution.__table__, Step.__table__
    placeholder = Placeholders()
    parts = []
    for number, columns in enumerate(shape.inserts):
        source = recordset_from(executions, columns, dialect, placeholder)
        returning = ' RETURNING "id", "input"' if shape.from_run else ""
        parts.append(f"i{number} AS ({_insert(executions, columns, source, dialect)}{returning})")
    for number, columns in enumerate(shape.updates):
        source = recordset_from(
            executions, columns, dialect, placeholder, extra=[*_FENCE_FIELDS, _ORD]
        )
        # A write of no columns still checks its fence (a no-op assignment).
        assignments = (
            ", ".join(f'"{c}" = {value_of(executions, c, dialect)}' for c in columns)
            or '"id" = e."id"'
        )
        fenced = " AND ".join(f'e."{column}" = v."fence_{column}"' for column in _FENCE)
        # The ids again, as an array: the rows are then found through the primary key whatever
        # the planner guesses of the document's size (100 rows) or of the table's.
        keyed = f'e."id" = ANY({placeholder("varchar[]")})'
        parts.append(
            f'u{number} AS (UPDATE "{executions.name}" AS e SET {assignments} FROM {source} '
            f"WHERE {keyed} AND {fenced} AND e.status = '{states.RUNNING}' RETURNING v.ord)"
        )
    held = [f"SELECT unnest({placeholder('int4[]')})"]
    held += [f"SELECT ord FROM u{number}" for number in range(len(shape.updates))]
    parts.append(f"held(ord) AS ({' UNION ALL '.join(held)})")
    step_extra, output = [_ORD], None
    if shape.from_run:
        step_extra.append((_FROM_RUN, "bool"))
        inputs = " UNION ALL ".join(f"SELECT * FROM i{n}" for n in range(len(shape.inserts)))
        parts.append(f"run_inputs(id, input) AS ({inputs})")
        output = (
            f'CASE WHEN v."{_FROM_RUN}" THEN (SELECT r.input FROM run_inputs AS r '
            f'WHERE r.id = v."execution_id") ELSE {value_of(steps, "output", dialect)} END'
        )
    for number, columns in enumerate(shape.steps):
        source = recordset_from(steps, columns, dialect, placeholder, extra=step_extra)
        where = "WHERE v.ord IN (SELECT ord FROM held)"
        values = {"output": output} if output else {}
        parts.append(f"s{number} AS ({_insert(steps, columns, source, dialect, where, values)})")
    deliveries = NotificationDelivery.__table__
    subscriptions = NotificationSubscription.__table__.name
    for number, columns in enumerate(shape.notifications):
        source = recordset_from(deliveries, columns, dialect, placeholder, extra=[_ORD])
        # Only while the subscription exists: it may have been deleted since the end's
        # deliveries were read.
        where = (
            "WHERE v.ord IN (SELECT ord FROM held) AND EXISTS "
            f'(SELECT 1 FROM "{subscriptions}" AS s WHERE s."id" = v."subscription_id")'
        )
        parts.append(f"n{number} AS ({_insert(deliveries, columns, source, dialect, where)})")
    if shape.usage:
        parts.append(_usage_part(dialect, placeholder))
    if shape.wakes:
        # The waiting runs the held writes wake (their ids, the writes' ords, the time). A run
        # parked by this same batch is not waiting in the statement's snapshot: the group commit
        # made that park due at once (engine.runs.queue.wake_within_batch).
        ids, ords, moment = (
            placeholder("varchar[]"),
            placeholder("int4[]"),
            placeholder("timestamptz"),
        )
        parts.append(
            f'w AS (UPDATE "{executions.name}" AS e '
            f'SET "due_at" = {moment}, "updated_at" = {moment} '
            f'FROM unnest({ids}, {ords}) AS v(id, ord) WHERE e."id" = v.id '
            f"AND v.ord IN (SELECT ord FROM held) AND e.status = '{states.WAITING}' RETURNING e.id)"
        )
    if shape.resets:
        failures = WorkflowFailures.__table__.name
        ids, ords, moment = (
            placeholder("varchar[]"),
            placeholder("int4[]"),
            placeholder("timestamptz"),
        )
        # No write (no row lock) where the streak is 0 already or no run ever failed.
        parts.append(
            f'r AS (UPDATE "{failures}" AS f SET "streak" = 0, "updated_at" = {moment} '
            f'FROM unnest({ids}, {ords}) AS v(id, ord) WHERE f."workflow_id" = v.id '
            f'AND v.ord IN (SELECT ord FROM held) AND f."streak" > 0 RETURNING 1)'
        )
    answered = "NULL"
    if shape.notify:
        channel, prefix = placeholder("text"), placeholder("text")
        ids, answering = placeholder("text[]"), placeholder("int4[]")
        answered = (
            f"(SELECT pg_notify({channel}, {prefix} || string_agg(({ids})[ord + 1], ',')) "
            f"FROM held WHERE ord = ANY({answering}) HAVING count(*) > 0)"
        )
    woke = "NULL"
    if shape.wakes:  # other processes' workers claim the woken runs at once
        woke = f"(SELECT pg_notify('{QUEUE_CHANNEL}', '') FROM w HAVING count(*) > 0)"
    return f"WITH {', '.join(parts)} SELECT array(SELECT ord FROM held), {answered}, {woke}"


def _insert(
    table: Any,
    columns: Sequence[str],
    source: str,
    dialect: Dialect,
    where: str = "",
    values_of: dict[str, str] | None = None,
) -> str:
    """INSERT of `columns` from `source`; `values_of` gives some columns' SQL instead."""
    names = ", ".join(f'"{column}"' for column in columns)
    given = values_of or {}
    values = ", ".join(given.get(c) or value_of(table, c, dialect) for c in columns)
    return f'INSERT INTO "{table.name}" ({names}) SELECT {values} FROM {source} {where}'.rstrip()
