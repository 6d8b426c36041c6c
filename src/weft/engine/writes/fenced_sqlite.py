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

from sqlalchemy import JSON, Connection, insert
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


def apply_fenced(
    connection: Connection, writes: Sequence[FencedWrite], *, together: bool = True
) -> list[bool]:
    """Apply each write whose lease still holds; which ones did. `together`: the updates of the
    same columns share one executemany, which raises PartlyFenced when it missed a row."""
    new_rows = [{**w.insert, **w.values} for w in writes if w.insert is not None]
    if new_rows:
        _insert_executions(connection, new_rows)
    updates = [i for i, w in enumerate(writes) if w.insert is None]
    held = [True] * len(writes)
    if together and len(updates) > 1 and connection.dialect.supports_sane_multi_rowcount:
        _update_together(connection, [writes[i] for i in updates])
    else:
        # In id order, as lease renewal locks them (see engine.runs.queue on lock order).
        for index in sorted(updates, key=lambda i: writes[i].execution_id):
            write = writes[index]
            held[index] = _fenced_update(connection, [write]) == 1
    landed = [write for write, ok in zip(writes, held, strict=True) if ok]
    steps = [step for write in landed for step in write.steps]
    if steps:
        connection.exec_driver_sql(_INSERT_STEPS, _STEP_ROWS.values(steps))
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
    for members in groups.values():
        if _fenced_update(connection, members) != len(members):
            raise PartlyFenced()


def _fenced_update(connection: Connection, writes: list[FencedWrite]) -> int:
    """Update `writes` (the same columns each) where each one's lease holds; rows matched."""
    statement, columns = _fenced_update_of(tuple(sorted(writes[0].values)))
    params = columns.values(
        [
            {**w.values, "id": w.execution_id, "lease_owner": w.owner, "attempt": w.attempt}
            for w in writes
        ]
    )
    fence = (states.RUNNING,)
    params = [row + fence for row in params]
    result = connection.exec_driver_sql(statement, params if len(params) > 1 else params[0])
    return int(result.rowcount)


@functools.cache
def _fenced_update_of(columns: tuple[str, ...]) -> tuple[str, _Rows]:
    """The fenced UPDATE setting `columns`, as SQL and the encoder of its parameters: built once
    per set of columns (a Core statement's compilation and bind processing per execution cost
    more CPU than the update itself)."""
    fence = ("id", "lease_owner", "attempt")
    sql = "UPDATE executions SET {} WHERE {} AND status = ?".format(
        ", ".join(f"{_quote(c)} = ?" for c in columns),
        " AND ".join(f"{_quote(c)} = ?" for c in fence),
    )
    return sql, _Rows(Execution.__table__, (*columns, *fence))


# The last time written and its text (one tuple: one assignment): `clock.now()` hands out one
# datetime per millisecond, so a batch's rows mostly share their times.
_last_time: tuple[datetime | None, str | None] = (None, None)


def _sqlite_time(value: datetime | None) -> str | None:
    # What SQLAlchemy's SQLite DateTime writes for store.types.UTCDateTime: naive UTC text.
    global _last_time
    if value is None:
        return None
    last, text = _last_time
    if value is last:  # datetimes are immutable: the same object, the same text
        return text
    if value.tzinfo is None:  # as UTCDateTime refuses it
        raise ValueError("naive datetime given to a UTCDateTime column")
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_time = (value, text)
    return text


def _json_text(value: Any) -> str:
    # Most rows leave some JSON columns empty: their None needs no serializer call.
    return "null" if value is None else dump_json(value)


def _encoder(column: Any) -> Callable[[Any], Any] | None:
    if isinstance(column.type, JSON):  # store.types.JSONType; None is written as 'null'
        return _json_text
    if isinstance(column.type, UTCDateTime):
        return _sqlite_time
    # SQLAlchemy's own for the rest (None for text and integers: written as they are).
    return column.type._cached_bind_processor(_SQLITE)  # type: ignore[no-any-return]


_SQLITE = sqlite.dialect()
_quote = _SQLITE.identifier_preparer.quote  # `trigger` is one of SQLite's keywords


class _Rows:
    """Rows of `table` (dicts) as the parameters of a driver-level executemany of `columns`,
    each value encoded as SQLAlchemy's bind processors would encode it.

    A loop writes a row per pass and per body step; SQLAlchemy's per-row parameter handling
    cost more CPU than SQLite's insert (tests/engine/test_writers.py holds the two equal)."""

    def __init__(self, table: Any, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        getter = operator.itemgetter(*self.columns)
        # One C call takes every value; only the few that need it are encoded after.
        self._fields = getter if len(self.columns) > 1 else lambda row: (getter(row),)
        self._encoded = [
            (index, encode)
            for index, name in enumerate(self.columns)
            if (encode := _encoder(table.c[name])) is not None
        ]

    def values(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Each row's values in column order, encoded."""
        encoded = self._encoded
        values = []
        for row in rows:
            fields = list(self._fields(row))
            for index, encode in encoded:
                fields[index] = encode(fields[index])
            values.append(tuple(fields))
        return values

    def insert(self, table_name: str) -> str:
        """The INSERT of every column, one `?` each."""
        names = ", ".join(_quote(name) for name in self.columns)
        return f"INSERT INTO {table_name} ({names}) VALUES ({', '.join('?' for _ in self.columns)})"


_STEP_ROWS = _Rows(Step.__table__, [column.name for column in Step.__table__.columns])
_INSERT_STEPS = _STEP_ROWS.insert("steps")
_EXECUTION_ROWS = _Rows(Execution.__table__, [c.name for c in Execution.__table__.columns])
_INSERT_EXECUTION_ROWS = _EXECUTION_ROWS.insert("executions")
_EVERY_EXECUTION_COLUMN = frozenset(_EXECUTION_ROWS.columns)
_INSERT_EXECUTIONS = insert(Execution.__table__)


def _insert_executions(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """New execution rows in one executemany; encoded here when each row has every column
    (a direct run's row always has, engine.starts.triggers.execution_row), else by SQLAlchemy,
    which fills in the missing columns' defaults."""
    if all(row.keys() == _EVERY_EXECUTION_COLUMN for row in rows):
        connection.exec_driver_sql(_INSERT_EXECUTION_ROWS, _EXECUTION_ROWS.values(rows))
    else:
        connection.execute(_INSERT_EXECUTIONS, rows)


def step_values(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Step rows as the parameters of one executemany, encoded as SQLAlchemy would encode them."""
    return _STEP_ROWS.values(steps)


def execution_values(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Execution rows (every column) as the parameters of one executemany, encoded likewise."""
    return _EXECUTION_ROWS.values(rows)
