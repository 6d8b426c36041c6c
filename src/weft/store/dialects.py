"""What differs between SQLite and PostgreSQL, one object per database.

The `Database` picks its dialect once, from its URL (`db.dialect`); code outside `store/` asks
that object instead of comparing dialect names. Each method here is the whole of one
difference: the claim's row locks, LISTEN/NOTIFY, where rate-limit windows are counted, JSON
list containment, how datetimes are kept, the connection arguments. `dialect_of(bind)` finds
the same object from a session or connection, for code that holds one of those and no `db`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, ClassVar

import asyncpg
from sqlalchemy import JSON, Connection, Select, TextClause, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeEngine

from weft.store.raw_postgres import asyncpg_connect_arguments


class Dialect:
    """One database's SQL and behaviour where SQLite and PostgreSQL differ."""

    name: ClassVar[str]
    # Whether NOTIFY reaches other processes at commit (otherwise they poll).
    notifies: ClassVar[bool]
    # Whether rate-limit windows are counted in the database, shared by every API process.
    counts_rate_windows_in_database: ClassVar[bool]
    # One writer at a time for the whole database: this process queues its writers itself
    # (store.db) and a write transaction takes the lock when it begins.
    single_writer: ClassVar[bool]
    # Whether datetimes keep their zone (otherwise stored as naive UTC).
    keeps_time_zones: ClassVar[bool]
    # The column type JSON documents are kept in.
    json_type: ClassVar[TypeEngine[Any]]
    # A file of this installation's own (`weft serve` migrates it on start unless told not to),
    # not a server someone else runs.
    embedded: ClassVar[bool]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def skip_locked(self, select_sql: str) -> str:
        """`select_sql` made to claim rows next to other claimers without waiting on them."""
        raise NotImplementedError

    def skipping_taken_rows(self, statement: Select[Any], **lock: Any) -> Select[Any]:
        """The same for a Core `statement` (`lock` passed on to `with_for_update`, e.g. `of=`)."""
        raise NotImplementedError

    def insert(self, table: Any) -> Insert:
        """An INSERT that takes `on_conflict_do_update` (an upsert)."""
        raise NotImplementedError

    def json_list_contains(self, document: str, key: str, value: str) -> TextClause:
        """A condition: the JSON list under `key` of the column `document` holds `value`."""
        raise NotImplementedError

    async def notify(self, session: AsyncSession, channel: str) -> None:
        """Wake the listeners of `channel` when this session's transaction commits."""
        raise NotImplementedError

    def notify_sync(self, connection: Connection, channel: str, payload: str) -> None:
        """Send `payload` to the listeners of `channel` when `connection`'s transaction
        commits (a sync connection: from an async session, `session.run_sync`)."""
        raise NotImplementedError

    async def listen(
        self,
        engine: AsyncEngine,
        listeners: Mapping[str, Callable[[str], None]],
        connected: Callable[[bool], None],
    ) -> None:
        """Call each channel's listener with the payloads other processes notify, on one
        connection of its own, until it drops (return) or cannot be made (raise);
        `connected(True)` once it is up, `connected(False)` when it is gone."""
        raise NotImplementedError


class SQLiteDialect(Dialect):
    """The embedded default: one file, one writer at a time, no notifications."""

    name = "sqlite"
    notifies = False
    # A write per request would queue every request behind SQLite's single writer: counted in
    # memory, or in a file several serving processes map (tenancy.shared_counts).
    counts_rate_windows_in_database = False
    single_writer = True
    keeps_time_zones = False  # naive UTC, so that string comparison orders correctly
    json_type = JSON()
    embedded = True

    def skip_locked(self, select_sql: str) -> str:
        # Nothing to add: every write transaction is BEGIN IMMEDIATE (store.db), so claims are
        # serialised anyway.
        return select_sql

    def skipping_taken_rows(self, statement: Select[Any], **lock: Any) -> Select[Any]:
        return statement

    def insert(self, table: Any) -> Insert:
        return sqlite.insert(table)

    def json_list_contains(self, document: str, key: str, value: str) -> TextClause:
        return text(
            f"EXISTS (SELECT 1 FROM json_each({document}, '$.{key}') "
            "WHERE json_each.value = :contained)"
        ).bindparams(contained=value)

    async def notify(self, session: AsyncSession, channel: str) -> None:
        return None  # no other process listens: they poll

    def notify_sync(self, connection: Connection, channel: str, payload: str) -> None:
        return None

    async def listen(
        self,
        engine: AsyncEngine,
        listeners: Mapping[str, Callable[[str], None]],
        connected: Callable[[bool], None],
    ) -> None:
        raise NotImplementedError("SQLite has no notifications to listen for")


class PostgresDialect(Dialect):
    """PostgreSQL: row locks that skip, LISTEN/NOTIFY, JSONB, counts shared in the database."""

    name = "postgresql"
    notifies = True
    counts_rate_windows_in_database = True  # every API process shares them
    single_writer = False
    keeps_time_zones = True
    json_type = postgresql.JSONB()  # indexable, compact
    embedded = False

    def skip_locked(self, select_sql: str) -> str:
        # Concurrent claimers skip each other's candidates instead of waiting for them.
        return select_sql + " FOR UPDATE SKIP LOCKED"

    def skipping_taken_rows(self, statement: Select[Any], **lock: Any) -> Select[Any]:
        return statement.with_for_update(skip_locked=True, **lock)

    def insert(self, table: Any) -> Insert:
        return postgresql.insert(table)

    def json_list_contains(self, document: str, key: str, value: str) -> TextClause:
        return text(f"{document} -> '{key}' @> CAST(:contained AS jsonb)").bindparams(
            contained=json.dumps([value])
        )

    async def notify(self, session: AsyncSession, channel: str) -> None:
        # PostgreSQL delivers NOTIFY at commit, so listeners wake when the work has landed.
        await session.execute(_notify_statement(channel))

    def notify_sync(self, connection: Connection, channel: str, payload: str) -> None:
        connection.execute(_PG_NOTIFY, {"channel": channel, "payload": payload})

    async def listen(
        self,
        engine: AsyncEngine,
        listeners: Mapping[str, Callable[[str], None]],
        connected: Callable[[bool], None],
    ) -> None:
        # An asyncpg connection, not one of SQLAlchemy's pool: a pooled one is reset (UNLISTEN)
        # when handed back.
        connection = await asyncpg.connect(**asyncpg_connect_arguments(engine))
        try:
            closed = asyncio.Event()
            connection.add_termination_listener(lambda *_, done=closed: done.set())
            for channel, listener in listeners.items():
                await connection.add_listener(
                    channel, lambda *args, heard=listener: heard(args[-1])
                )
            connected(True)
            await closed.wait()
        finally:
            connected(False)
            with contextlib.suppress(Exception):
                await asyncio.shield(connection.close(timeout=1))


_PG_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


@cache
def _notify_statement(channel: str) -> TextClause:
    return text(f"NOTIFY {channel}")


DIALECTS: dict[str, Dialect] = {d.name: d for d in (SQLiteDialect(), PostgresDialect())}


def dialect_named(name: str) -> Dialect:
    """The dialect SQLAlchemy calls `name` (`sqlite`, `postgresql`)."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unsupported database: {name}") from None


def dialect_of(bind: AsyncSession | Connection | Any) -> Dialect:
    """The dialect of a session's or connection's database."""
    if isinstance(bind, AsyncSession):
        bind = bind.bind
    return DIALECTS[bind.dialect.name]


def dialect_for_url(url: str) -> Dialect:
    """The dialect of the database at `url`, before any engine is made (the CLI's choices)."""
    return dialect_named(make_url(url).get_backend_name())
