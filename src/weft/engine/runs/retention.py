"""Retention: finished executions (and their steps) older than the setting are pruned in
batches, and SQLite's WAL is checkpointed once a backlog is cleared.

A round deletes at most `ROUND_BATCHES` batches of `BATCH` runs. Rounds come every
`PRUNE_EVERY_S` while nothing is left over, and `BACKLOG_PAUSE_S` apart while a round ended at
its cap (a backlog: a platform finishing 1,000 runs/s makes 300,000 prunable runs every five
minutes), until the backlog is cleared. Between two batches the pruner pauses as long as the
last batch took, so it holds the writer (SQLite's one writer, which every run's group commits
wait for) at most about half the time.

Pruners in several processes do not fight: each batch is chosen inside its own write
transaction, on PostgreSQL with `FOR UPDATE SKIP LOCKED` (two pruners take disjoint batches, so
no run is deleted twice and no two deletes wait on each other's rows), on SQLite under the
write lock (batches are serialised anyway).

What else names a run is left as it is, by design: `workflow_failures` keeps the id of the
last failed run (and of the run that paused the workflow), a child run its parent's id,
a draft replay the ids of the runs it compared, a notification's payload the run it is about;
each reader takes a missing run as gone (404, or `unavailable` in a replay). Steps are the only
rows that belong to a run, and go with it in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from weft.clock import now
from weft.engine.runs import states
from weft.engine.starts.periodic import Periodic
from weft.engine.workers.services import Services
from weft.store.db import Database, checkpoint_sqlite, skipping_taken_rows
from weft.store.tables import Execution, Step

log = logging.getLogger("weft.retention")

BATCH = 500
ROUND_BATCHES = 20
PRUNE_EVERY_S = 300.0
BACKLOG_PAUSE_S = 1.0


@dataclass(frozen=True)
class Pruned:
    """What one round removed, and whether it stopped at its cap with more left to prune."""

    runs: int = 0
    steps: int = 0
    backlog: bool = False


async def prune_finished_executions(
    db: Database, *, keep_days: float, batch: int = BATCH, max_batches: int = ROUND_BATCHES
) -> Pruned:
    """Delete finished runs that ended more than `keep_days` ago, at most `max_batches` batches
    of `batch` runs, each in its own short transaction (`Retention` checkpoints after)."""
    cutoff = now() - timedelta(days=keep_days)
    prunable = (Execution.finished_at < cutoff, Execution.status.in_(states.TERMINAL))
    # Found by reading first (ix_executions_finished): with nothing to prune, as in most rounds,
    # the writer is not taken at all.
    async with db.reading() as session:
        if await session.scalar(select(Execution.id).where(*prunable).limit(1)) is None:
            return Pruned()
    runs = steps = 0
    took = 0.0
    choose = skipping_taken_rows(select(Execution.id).where(*prunable).limit(batch), db)
    for _ in range(max_batches):
        if took:  # let the writers that queued meanwhile (group commits of live runs) in
            await asyncio.sleep(took)
        began = time.monotonic()
        async with db.transaction() as session:
            ids = list(await session.scalars(choose))
            if ids:
                gone = await session.execute(delete(Step).where(Step.execution_id.in_(ids)))
                steps += int(gone.rowcount or 0)  # type: ignore[attr-defined]
                await session.execute(delete(Execution).where(Execution.id.in_(ids)))
        took = time.monotonic() - began
        runs += len(ids)
        if len(ids) < batch:
            return Pruned(runs, steps)
    return Pruned(runs, steps, backlog=True)


class Retention(Periodic):
    """Prunes old finished runs every few minutes, and round after round while a backlog lasts."""

    log = log
    failure = "retention round failed"

    def __init__(self, services: Services) -> None:
        super().__init__(services, PRUNE_EVERY_S)
        self.batch, self.max_batches = BATCH, ROUND_BATCHES
        self._checkpoint_due = False

    async def round(self) -> None:
        self.interval_s = PRUNE_EVERY_S  # a failed round is tried again at the usual time
        pruned = await prune_finished_executions(
            self.services.db,
            keep_days=self.services.settings.retention_days,
            batch=self.batch,
            max_batches=self.max_batches,
        )
        self._checkpoint_due |= pruned.runs > 0
        if pruned.backlog:
            self.interval_s = BACKLOG_PAUSE_S
        elif self._checkpoint_due:
            # Once a backlog is cleared, not after every round: SQLite's automatic checkpoints
            # keep the WAL small meanwhile, and truncating it holds the writer until readers
            # let go, which live runs' commits would wait for (BENCHMARKS.md, "Retention").
            self._checkpoint_due = False
            await checkpoint_sqlite(self.services.db)
