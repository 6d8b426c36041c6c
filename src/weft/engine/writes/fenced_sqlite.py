"""The group commit's writes on SQLite: a whole batch in one transaction on the writer thread.

Same effect as `engine.writes.fenced_postgres` (new rows inserted, updates fenced by lease, steps
and notifications of only the writes whose lease held), as Core statements on a plain connection, so
the whole batch runs on SQLite's writer thread (Database.write_batch): new rows in one insert,
fenced updates of the same columns in one executemany (SQLite counts its rows), steps in one
insert (encoded here, not by SQLAlchemy: see `step_values`), notifications in another (with
those the ends' failure streaks queue, engine.runs.failure_streaks), then the waiting parents of
the runs that ended are made due. SQLite has no NOTIFY: other processes' sync callers find their
answers by reading (engine.workers.answers).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Update, bindparam, insert, update
from sqlalchemy.dialects import sqlite

from weft.clock import now
from weft.engine.runs import states
from weft.engine.runs.failure_streaks import record_outcomes
from weft.engine.runs.queue import FencedWrite, wake_waiting
from weft.engine.writes.deliveries import insert_deliveries
from weft.store.db import Database
from weft.store.dialects import dialect_of
from weft.store.json_codec import dump_json
from weft.store.tables import Execution, Step
from weft.store.types import UTCDateTime
from weft.store.usage_rows import add_usage, summed_usage


class SqliteWriter:
    """The fenced writer for SQLite (engine.writes.commits.FencedWriter)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def apply(self, writes: Sequence[FencedWrite]) -> list[bool]:
        """Apply each write whose lease still holds, in one transaction; which ones did."""
        try:
            return await self.db.write_batch(lambda connection: apply_fenced(connection, writes))
        except PartlyFenced:  # a lease was lost: updates one by one tell which
            return await self.db.write_batch(
                lambda connection: apply_fenced(connection, writes, together=False)
            )


# Built once, for the same reason as _fenced_update.
_INSERT_EXECUTIONS = insert(Execution.__table__)


def apply_fenced(
    connection: Connection, writes: Sequence[FencedWrite], *, together: bool = True
) -> list[bool]:
    """Apply each write whose lease still holds; which ones did. `together`: the updates of the
    same columns share one executemany, which raises PartlyFenced when it missed a row."""
    new_rows = [{**w.insert, **w.values} for w in writes if w.insert is not None]
    if new_rows:
        connection.execute(_INSERT_EXECUTIONS, new_rows)
    updates = [i for i, w in enumerate(writes) if w.insert is None]
    held = [True] * len(writes)
    if together and len(updates) > 1 and connection.dialect.supports_sane_multi_rowcount:
        _update_together(connection, [writes[i] for i in updates])
    else:
        # In id order, as lease renewal locks them (see engine.runs.queue on lock order).
        for index in sorted(updates, key=lambda i: writes[i].execution_id):
            write = writes[index]
            result = connection.execute(_fenced_update(tuple(sorted(write.values))), _params(write))
            held[index] = result.rowcount == 1
    landed = [write for write, ok in zip(writes, held, strict=True) if ok]
    steps = [step for write in landed for step in write.steps]
    if steps:
        connection.exec_driver_sql(_INSERT_STEPS, step_values(steps))
    outcomes = [write.outcome for write in landed if write.outcome is not None]
    queued = [row for write in landed for row in write.notifications]
    if outcomes:
        queued += record_outcomes(connection, outcomes)
    insert_deliveries(connection, queued)
    usage = [write.usage for write in landed if write.usage]
    if usage:
        connection.execute(add_usage(dialect_of(connection)), summed_usage(usage))
    woken = sorted({write.wakes for write in landed if write.wakes})
    if woken:
        connection.execute(wake_waiting(woken, now()))
    return held


class PartlyFenced(Exception):
    """A shared update missed some rows: a lease was lost; the updates go one by one instead."""


def _update_together(connection: Connection, writes: list[FencedWrite]) -> None:
    """The fenced updates of `writes`, one executemany per set of columns, in id order (the lock
    order of engine.runs.queue); raises PartlyFenced unless every row matched."""
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


# The last time written and its text (one tuple: one assignment): `clock.now()` hands out one
# datetime per millisecond, so a batch's steps mostly share their start and end times.
_last_time: tuple[datetime | None, str | None] = (None, None)


def _sqlite_time(value: datetime | None) -> str | None:
    # What SQLAlchemy's SQLite DateTime writes for store.types.UTCDateTime: naive UTC text.
    global _last_time
    if value is None:
        return None
    last, text = _last_time
    if value is last:  # datetimes are immutable: the same object, the same text
        return text
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_time = (value, text)
    return text


def _json_text(value: Any) -> str:
    # Most steps have no error and no logs: their None needs no serializer call.
    return "null" if value is None else dump_json(value)


def _encoder(column: Any) -> Callable[[Any], Any] | None:
    if isinstance(column.type, JSON):  # store.types.JSONType; None is written as 'null'
        return _json_text
    if isinstance(column.type, UTCDateTime):
        return _sqlite_time
    # SQLAlchemy's own for the rest (None for text and integers: written as they are).
    return column.type._cached_bind_processor(_SQLITE)  # type: ignore[no-any-return]


_SQLITE = sqlite.dialect()
_STEP_ENCODERS = [(column.name, _encoder(column)) for column in Step.__table__.columns]
_INSERT_STEPS = "INSERT INTO steps ({}) VALUES ({})".format(
    ", ".join(name for name, _ in _STEP_ENCODERS), ", ".join("?" for _ in _STEP_ENCODERS)
)
# The columns as positions: the values taken in one C call, the few that need encoding after.
_STEP_FIELDS = operator.itemgetter(*(name for name, _ in _STEP_ENCODERS))
_STEP_ENCODED = [(i, encode) for i, (_, encode) in enumerate(_STEP_ENCODERS) if encode]


def step_values(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Step rows as the parameters of one executemany, encoded as SQLAlchemy would encode them.

    A loop writes a row per pass and per body step; SQLAlchemy's per-row parameter handling
    cost more CPU than SQLite's insert (tests/engine/test_writers.py holds the two equal)."""
    encoded = _STEP_ENCODED
    values = []
    for row in steps:
        fields = list(_STEP_FIELDS(row))
        for index, encode in encoded:
            fields[index] = encode(fields[index])
        values.append(tuple(fields))
    return values
