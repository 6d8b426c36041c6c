"""Group commit: the fenced writes of many executions share one transaction.

A worker's runs hand their step commits here. While a transaction is in flight, the writes
that arrive queue up and go together in the next, so under load the cost of a commit is shared
by many runs, and when idle a write waits for nobody. One transaction at a time, on both
databases: SQLite has one writer, and on PostgreSQL, where a batch is one statement
(engine.fenced_postgres), overlapping two or four cost more CPU in transactions than they saved
in waiting (five-step runs at 32 callers: 600/s with one, 510/s with two).
"""

from __future__ import annotations

import asyncio
import logging

from weft.engine.fenced_postgres import apply_fenced_postgres
from weft.engine.queue import FencedWrite, LeaseLost, apply_fenced, apply_writes
from weft.store.db import Database, log_database_failure

log = logging.getLogger("weft.commits")

# At most 256 writes per transaction: the ids PostgreSQL's batch announces then fit in the
# 8000 bytes of one NOTIFY payload (fenced_postgres).
MAX_BATCH = 256


class GroupCommit:
    """Batches `FencedWrite`s of one process into shared transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db
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
                try:
                    applied = await self._commit([w for w, _ in batch])
                except Exception:
                    # One bad write must not sink its neighbours: retry each on its own.
                    applied = []
                    for write, future in batch:
                        try:
                            applied += await self._commit([write])
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

    async def _commit(self, writes: list[FencedWrite]) -> list[bool]:
        if any(write.also is not None for write in writes):  # ORM writes (notifications)
            async with self.db.transaction() as session:
                return await apply_writes(session, writes)
        if not self.db.dialect.single_writer:  # PostgreSQL: one statement on asyncpg
            return await apply_fenced_postgres(self.db.raw, writes, self.db.engine.dialect)
        return await self.db.write_batch(lambda connection: apply_fenced(connection, writes))


def _outcome_read(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
