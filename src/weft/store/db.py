"""Engine and session setup for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

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


def _begin_immediate(connection: Any) -> None:
    # SQLite: take the write lock when the transaction starts. A deferred transaction that reads
    # and then writes fails at once with SQLITE_BUSY if another writer committed in between;
    # an immediate one waits its turn (busy_timeout) instead. One writer at a time is SQLite's
    # model anyway, and our transactions are short.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, sqlite_busy_timeout_ms: int = 5000) -> AsyncEngine:
    """An async engine for `url`, with SQLite tuned for concurrent readers and one writer."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": sqlite_busy_timeout_ms / 1000, "isolation_level": None},
        )
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas(sqlite_busy_timeout_ms))
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """The engine and session factory one process shares."""

    def __init__(self, url: str, *, sqlite_busy_timeout_ms: int = 5000) -> None:
        self.url = url
        self.engine = create_engine(url, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
