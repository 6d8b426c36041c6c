"""Engine and session setup for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import traceback
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone arbitrates
    fcntl = None  # type: ignore[assignment]

import sqlalchemy
from sqlalchemy import Connection, Select, event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import Pool

from weft.store.budget import DEFAULT_CONNECTIONS, ConnectionBudget
from weft.store.dialects import Dialect, dialect_named
from weft.store.json_codec import dump_json, load_json
from weft.store.permissions import secure_sqlite_file
from weft.store.raw_postgres import RawPostgres
from weft.store.sql_counter import attach_if_enabled

T = TypeVar("T")

# SQLSTATEs of a connection the server refused or dropped: connection exceptions (class 08),
# the server shutting down, crashed or still starting (57P01-57P03), and every slot taken ("too
# many clients", 53300): an outage like a restart, over once connections are handed back.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_database_unavailable(error: BaseException) -> bool:
    """The database was unreachable or dropped the connection (restart, cut network, a busy
    SQLite file): nothing was wrong with the work, which may succeed once retried.

    Callers treat it apart from real errors: the API answers 503 with Retry-After instead of
    500, and a worker leaves its run for a later claim instead of marking it errored.
    """
    if isinstance(error, (OperationalError, InterfaceError, PoolTimeout)):
        # PoolTimeout: every connection of this process's budget stayed busy for the pool's
        # whole timeout (pool exhaustion), which passes as load does.
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig or error
    cause = error.__cause__ or error
    for candidate in (error, cause):
        state = str(getattr(candidate, "sqlstate", None) or "")
        if state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        module = type(candidate).__module__
        name = type(candidate).__name__
        if module.startswith("asyncpg") or "asyncpg" in name.lower() or "AsyncAdapt" in name:
            # The driver's own view of a broken connection (closed mid-operation, or left
            # between two operations by one that failed).
            text = str(candidate)
            if name in ("ConnectionDoesNotExistError", "InterfaceError", "CannotConnectNowError"):
                return True
            if "another operation" in text or "connection is closed" in text:
                return True
    # Connecting itself failed (refused, socket gone while the server restarts).
    if isinstance(error, OSError):
        frames = traceback.extract_tb(error.__traceback__)
        return any(
            "asyncpg" in frame.filename or "sqlalchemy" in frame.filename for frame in frames
        )
    return False


def log_database_failure(logger: logging.Logger, what: str, error: BaseException) -> None:
    """Log a failed database operation: one warning line when the database is unavailable (the
    work is retried), the whole traceback otherwise."""
    if is_database_unavailable(error):
        # The first line only: SQLAlchemy appends the statement and its parameters.
        reason = (str(error).splitlines() or [""])[0][:200]
        logger.warning("%s: database unavailable (%s: %s)", what, type(error).__name__, reason)
    else:
        logger.error("%s", what, exc_info=error)


class _DroppedConnectionClose(logging.Filter):
    """SQLAlchemy's pool logs a whole traceback when it closes a connection the server already
    dropped, as every pooled connection is after a database restart: one warning line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        closing = str(record.msg).startswith("Exception closing connection")
        if closing and error is not None and is_database_unavailable(error):
            record.msg = "closing a dropped connection: database unavailable (%s)"
            record.args = (type(error).__name__,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def _quiet_dropped_closes(pool: Pool) -> None:
    """Filter the logger the pool writes to: its class's own ("sqlalchemy.pool.impl.<class>").
    A filter on a parent logger ("sqlalchemy.pool") never sees a child's records."""
    logger = logging.getLogger(f"{type(pool).__module__}.{type(pool).__name__}")
    if not any(isinstance(f, _DroppedConnectionClose) for f in logger.filters):
        logger.addFilter(_DroppedConnectionClose())


@asynccontextmanager
async def _connect_errors_as_operational() -> AsyncIterator[None]:
    """The driver lets a failed connect through as a bare OSError (refused, socket gone while
    the server restarts); raise it as the OperationalError every caller already handles."""
    try:
        yield
    except OSError as error:
        if is_database_unavailable(error):
            raise OperationalError("connect", None, error) from error
        raise


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


# SQLite's pool: its connections count against no server limit (PostgreSQL's pools are sized
# from the process's connection budget, store.budget).
SQLITE_POOL_SIZE = 20
SQLITE_POOL_OVERFLOW = 10


def create_engine(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = 30000,
    budget: ConnectionBudget | None = None,
    pool_timeout_s: float = 30.0,
) -> AsyncEngine:
    """An async engine for `url`, with SQLite tuned for concurrent readers and one writer, and
    PostgreSQL's pool sized from `budget`."""
    if url.startswith("sqlite"):
        secure_sqlite_file(url)
        engine = create_async_engine(
            url,
            connect_args={"timeout": sqlite_busy_timeout_ms / 1000, "isolation_level": None},
            # Odd strings a run produced are made valid (store.json_codec), and so are those of
            # rows written before that was done.
            json_serializer=dump_json,
            json_deserializer=load_json,
            # Connections (each with its thread) are kept, not opened per busy moment: the
            # overflow above the pool size is for bursts only.
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_OVERFLOW,
        )
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas(sqlite_busy_timeout_ms))
        event.listen(engine.sync_engine, "begin", _begin)
    else:
        budget = budget or ConnectionBudget()
        engine = create_async_engine(
            url,
            pool_size=budget.pool_size,
            max_overflow=budget.pool_overflow,
            # Past it, a caller gets sqlalchemy.exc.TimeoutError: an outage (503, run resumed).
            pool_timeout=pool_timeout_s,
            pool_pre_ping=True,
            # Reads need no repair: jsonb never held an odd string.
            json_serializer=dump_json,
        )
        _quiet_dropped_closes(engine.sync_engine.pool)
    attach_if_enabled(engine.sync_engine)  # the benchmark's statement counter; off by default
    return engine


class Database:
    """The engine and session factory one process shares."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_busy_timeout_ms: int = 30000,
        connections: int = DEFAULT_CONNECTIONS,
        pool_timeout_s: float = 30.0,
    ) -> None:
        self.url = url
        # PostgreSQL: every connection this process opens comes out of this (store.budget).
        self.budget = ConnectionBudget(connections)
        self.engine = create_engine(
            url,
            sqlite_busy_timeout_ms=sqlite_busy_timeout_ms,
            budget=self.budget,
            pool_timeout_s=pool_timeout_s,
        )
        # What differs between the databases, asked by everything above `store/` (its `name`
        # for logs and for tables of implementations keyed by database).
        self.dialect: Dialect = dialect_named(self.engine.dialect.name)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time and its busy handler is not fair: many connections of
        # one process polling for the lock starve each other. Queue them here instead (FIFO),
        # so SQLite only arbitrates between processes.
        self._sqlite_turn: asyncio.Lock | None = None
        self.sqlite_busy_timeout_ms = sqlite_busy_timeout_ms
        self._writer: _SqliteWriter | None = None  # write_batch's thread, made on first use
        # PostgreSQL's batch connections (`raw`), made on first use.
        self._raw: RawPostgres | None = None
        self._writer_lock = (
            _WriterFileLock.for_url(self.engine) if self.dialect.single_writer else None
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        if not self.dialect.single_writer:
            async with self._server_transaction() as session:
                yield session
            return
        async with self._sqlite_write_turn(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def _server_transaction(self) -> AsyncIterator[AsyncSession]:
        # A database server (not SQLite) orders its own readers and writers.
        async with _connect_errors_as_operational(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def _sqlite_write_turn(self) -> AsyncIterator[None]:
        # This process's writers queue on _sqlite_turn (see __init__), processes on the lock file.
        if self._sqlite_turn is None:
            self._sqlite_turn = asyncio.Lock()
        async with self._sqlite_turn:
            if self._writer_lock is not None:
                await self._writer_lock.acquire()
            try:
                yield
            finally:
                if self._writer_lock is not None:
                    self._writer_lock.release()

    async def write_batch(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` inside one write transaction, with Core statements only.

        On SQLite the whole transaction runs on one writer thread through a plain sqlite3
        connection: one thread hop for the batch instead of one per statement (aiosqlite), and
        no greenlet bridge. Elsewhere it runs on the async engine as `transaction()` does
        (PostgreSQL's group commits do not come here: they are one statement on `raw`)."""
        if not self.dialect.single_writer:
            async with self.transaction() as session:
                return await session.run_sync(lambda sync: work(sync.connection()))
        async with self._sqlite_write_turn():
            if self._writer is None:
                self._writer = _SqliteWriter(self.engine, self.sqlite_busy_timeout_ms)
            return await self._writer.run(work)

    @property
    def raw(self) -> RawPostgres:
        """PostgreSQL: asyncpg connections of their own for batched writes (store.raw_postgres);
        up to the budget's `batch` of them at once."""
        if self._raw is None:
            self._raw = RawPostgres(self.engine, self.budget.batch)
        return self._raw

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction: on SQLite it takes no write lock and waits for no writer."""
        if not self.dialect.single_writer:
            async with self._server_transaction() as session:
                yield session
            return
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(weft_readonly=True)
            session = AsyncSession(bind=connection, expire_on_commit=False)
            async with session, session.begin():
                yield session

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        async with self.reading() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self._raw is not None:
            await self._raw.close()
            self._raw = None
        await self.engine.dispose()


class _SqliteWriter:
    """One thread with its own SQLite connection that runs whole write transactions."""

    def __init__(self, engine: AsyncEngine, busy_timeout_ms: int) -> None:
        self.engine = sqlalchemy.create_engine(
            engine.url.set(drivername="sqlite"),
            connect_args={
                "timeout": busy_timeout_ms / 1000,
                "isolation_level": None,
                "check_same_thread": False,
            },
            # As the async engine's (create_engine): odd strings made valid, at orjson's speed;
            # without them the group commits wrote with json.dumps and kept lone surrogates.
            json_serializer=dump_json,
            json_deserializer=load_json,
            pool_size=1,
            max_overflow=0,
        )
        event.listen(self.engine, "connect", _set_sqlite_pragmas(busy_timeout_ms))
        event.listen(self.engine, "begin", _begin)
        attach_if_enabled(self.engine)
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="weft-sqlite-writer")

    async def run(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self.thread, self._in_transaction, work
        )

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        with self.engine.begin() as connection:
            return work(connection)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.thread, self.engine.dispose)
        self.thread.shutdown(wait=False)


def skipping_taken_rows(statement: Select[Any], db: Database, **lock: Any) -> Select[Any]:
    """`statement` made to claim rows next to other claimers without waiting on them.

    PostgreSQL locks what it selects and skips rows another transaction holds (`FOR UPDATE SKIP
    LOCKED`, `lock` passed on, e.g. `of=`); SQLite needs nothing, because every write
    transaction there is BEGIN IMMEDIATE and claims are serialised anyway.
    """
    return db.dialect.skipping_taken_rows(statement, **lock)


async def checkpoint_sqlite(db: Database) -> None:
    """Fold the WAL back into the database file and truncate it (best effort)."""
    if not db.dialect.single_writer:
        return  # PostgreSQL keeps no WAL file beside the database
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
