"""Group commit: the fenced writes of many executions share one transaction.

The transaction itself is a `FencedWriter`'s: one implementation per database, with the same
semantics (engine.writes.fenced_sqlite, engine.writes.fenced_postgres), picked once by `writer_for`
from the database's dialect name. Everything a run writes under its lease goes this one way: steps,
its row (a direct run's first commit), its end, and the org notifications its end queues.

A worker's runs hand their step commits here. While a transaction is in flight, the writes
that arrive queue up and go together in the next, so under load the cost of a commit is shared
by many runs, and when idle a write waits for nobody. One transaction at a time, on both
databases: SQLite has one writer, and on PostgreSQL, where a batch is one statement
(engine.writes.fenced_postgres), overlapping two or four cost more CPU in transactions than they
saved in waiting (five-step runs at 32 callers: 600/s with one, 510/s with two).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from weft.clock import now
from weft.engine.runs.queue import FencedWrite, LeaseLost, wake_within_batch
from weft.engine.workers.answers import IDS_PER_NOTIFY
from weft.engine.writes.fenced_postgres import PostgresWriter
from weft.engine.writes.fenced_sqlite import SqliteWriter
from weft.store.db import Database, log_database_failure

log = logging.getLogger("weft.commits")

# At most this many writes per transaction: the ids PostgreSQL's batch announces then fit in
# one NOTIFY payload.
MAX_BATCH = IDS_PER_NOTIFY


class FencedWriter(Protocol):
    """Applies a batch of fenced writes in one transaction of its database."""

    async def apply(self, writes: Sequence[FencedWrite]) -> list[bool]:
        """Apply each write whose lease still holds (with its steps and notifications), all
        in one transaction; which ones did. Raises when the transaction failed."""
        ...


WRITERS: dict[str, Callable[[Database], FencedWriter]] = {
    "sqlite": SqliteWriter,
    "postgresql": PostgresWriter,
}


def writer_for(db: Database) -> FencedWriter:
    """The fenced writer of `db`'s database (chosen once, when the engine's services start)."""
    return WRITERS[db.dialect.name](db)


class GroupCommit:
    """Batches `FencedWrite`s of one process into shared transactions of `writer`."""

    def __init__(self, writer: FencedWriter) -> None:
        self.writer = writer
        self._queue: list[tuple[FencedWrite, asyncio.Future[None]]] = []
        self._draining = False

    async def write(self, write: FencedWrite) -> None:
        """Commit `write`; raises LeaseLost when its execution is no longer this worker's."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((write, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        try:
            await asyncio.shield(future)  # a cancelled run must not abort the others' commit
        except asyncio.CancelledError:
            # The commit goes on without its caller: its outcome (often LeaseLost, the reason
            # the run was cancelled) is read here, or asyncio would log it as never retrieved.
            future.add_done_callback(_outcome_read)
            raise

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                wake_within_batch([write for write, _ in batch], now())
                try:
                    applied = await self.writer.apply([w for w, _ in batch])
                except Exception:
                    # One bad write must not sink its neighbours: retry each on its own.
                    applied = []
                    for write, future in batch:
                        try:
                            applied += await self.writer.apply([write])
                        except Exception as error:
                            log_database_failure(
                                log, f"commit of {write.execution_id} failed", error
                            )
                            if not future.done():
                                future.set_exception(error)
                            applied.append(False)
                for (_, future), held in zip(batch, applied, strict=True):
                    if future.done():
                        continue
                    if held:
                        future.set_result(None)
                    else:
                        future.set_exception(LeaseLost())
        finally:
            self._draining = False


def _outcome_read(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
