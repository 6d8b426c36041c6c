"""Engine and session setup for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone arbitrates
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Select, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from weft.store.permissions import secure_sqlite_file
from weft.store.sql_counter import attach_if_enabled


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
    options = connection.get_execution_options()
    if options.get("weft_no_transaction"):
        return  # statements that must run outside a transaction (WAL checkpoints)
    connection.exec_driver_sql("BEGIN" if options.get("weft_readonly") else "BEGIN IMMEDIATE")


def create_engine(url: str, *, sqlite_busy_timeout_ms: int = 30000) -> AsyncEngine:
    """An async engine for `url`, with SQLite tuned for concurrent readers and one writer."""
    if url.startswith("sqlite"):
        secure_sqlite_file(url)
        engine = create_async_engine(
            url,
            connect_args={"timeout": sqlite_busy_timeout_ms / 1000, "isolation_level": None},
        )
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas(sqlite_busy_timeout_ms))
        event.listen(engine.sync_engine, "begin", _begin)
    else:
        engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    attach_if_enabled(engine.sync_engine)  # the benchmark's statement counter; off by default
    return engine


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
        self._writer_lock = (
            _WriterFileLock.for_url(self.engine) if self.dialect == "sqlite" else None
        )

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
        async with self._sqlite_turn:
            if self._writer_lock is not None:
                await self._writer_lock.acquire()
            try:
                async with self.sessions() as session, session.begin():
                    yield session
            finally:
                if self._writer_lock is not None:
                    self._writer_lock.release()

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


def skipping_taken_rows(statement: Select[Any], db: Database, **lock: Any) -> Select[Any]:
    """`statement` made to claim rows next to other claimers without waiting on them.

    PostgreSQL locks what it selects and skips rows another transaction holds (`FOR UPDATE SKIP
    LOCKED`, `lock` passed on, e.g. `of=`); SQLite needs nothing, because every write
    transaction there is BEGIN IMMEDIATE and claims are serialised anyway.
    """
    if db.dialect == "postgresql":
        return statement.with_for_update(skip_locked=True, **lock)
    return statement


async def checkpoint_sqlite(db: Database) -> None:
    """Fold the WAL back into the database file and truncate it (best effort)."""
    if db.dialect != "sqlite":
        return
    async with db.engine.connect() as connection:
        connection = await connection.execution_options(weft_no_transaction=True)
        # Readers still on old pages make it fail: the next checkpoint catches up.
        with contextlib.suppress(OperationalError):
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


class _WriterFileLock:
    """An exclusive lock file beside the SQLite database, taken around each write transaction.

    SQLite's own busy handler makes a waiting process sleep and poll (1 ms up to 100 ms per
    try), which wastes most of the time when an API process and worker processes share one file.
    A blocked `flock` is woken by the kernel the moment the holder lets go.
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    @classmethod
    def for_url(cls, engine: AsyncEngine) -> _WriterFileLock | None:
        database = engine.url.database
        if not database or database == ":memory:" or fcntl is None:
            return None
        return cls(database + ".writelock")

    async def acquire(self) -> None:
        try:  # uncontended: no thread hop
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiter = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, self.fd, fcntl.LOCK_EX))
            try:
                await asyncio.shield(waiter)
            except asyncio.CancelledError:
                # The thread may still get the lock after we gave up: hand it straight back.
                waiter.add_done_callback(self._release_if_acquired)
                raise

    def _release_if_acquired(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.cancelled() and waiter.exception() is None:
            self.release()

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
