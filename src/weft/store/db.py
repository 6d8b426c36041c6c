"""Engine and session setup for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _set_sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    return on_connect


def _begin(connection: Any) -> None:
    # SQLite: take the write lock when the transaction starts. A deferred transaction that reads
    # and then writes fails at once with SQLITE_BUSY if another writer committed in between;
    # an immediate one waits its turn (busy_timeout) instead. Read-only transactions begin
    # deferred: in WAL mode readers neither wait for nor block the writer.
    readonly = connection.get_execution_options().get("weft_readonly", False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def create_engine(url: str, *, sqlite_busy_timeout_ms: int = 30000) -> AsyncEngine:
    """An async engine for `url`, with SQLite tuned for concurrent readers and one writer."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": sqlite_busy_timeout_ms / 1000, "isolation_level": None},
        )
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas(sqlite_busy_timeout_ms))
        event.listen(engine.sync_engine, "begin", _begin)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """The engine and session factory one process shares."""

    def __init__(self, url: str, *, sqlite_busy_timeout_ms: int = 30000) -> None:
        self.url = url
        self.engine = create_engine(url, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time and its busy handler is not fair: many connections of
        # one process polling for the lock starve each other. Queue them here instead (FIFO),
        # so SQLite only arbitrates between processes.
        self._sqlite_turn: asyncio.Lock | None = None

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        if self.dialect != "sqlite":
            async with self.sessions() as session, session.begin():
                yield session
            return
        if self._sqlite_turn is None:
            self._sqlite_turn = asyncio.Lock()
        async with self._sqlite_turn, self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction: on SQLite it takes no write lock and waits for no writer."""
        if self.dialect != "sqlite":
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(weft_readonly=True)
            session = AsyncSession(bind=connection, expire_on_commit=False)
            async with session, session.begin():
                yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
