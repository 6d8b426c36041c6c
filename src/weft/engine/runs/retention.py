"""Retention: finished executions (and their steps) older than the setting are pruned in
batches, and SQLite's WAL is checkpointed so the file cannot grow without bound."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from weft.clock import now
from weft.engine.runs import states
from weft.store.db import Database, checkpoint_sqlite
from weft.store.tables import Execution, Step

BATCH = 500


async def prune_finished_executions(
    db: Database, *, keep_days: float, max_batches: int = 20
) -> int:
    """Delete finished runs that ended more than `keep_days` ago; returns how many went."""
    cutoff = now() - timedelta(days=keep_days)
    removed = 0
    prunable = (Execution.finished_at < cutoff, Execution.status.in_(states.TERMINAL))
    for _ in range(max_batches):  # short transactions: never hold the writer for long
        # Found by reading (ix_executions_finished), outside the writer's transaction; the
        # writes check again, for a run that changed in between.
        async with db.reading() as session:
            ids = list(await session.scalars(select(Execution.id).where(*prunable).limit(BATCH)))
        if not ids:
            break
        async with db.transaction() as session:
            still = select(Execution.id).where(Execution.id.in_(ids), *prunable)
            await session.execute(delete(Step).where(Step.execution_id.in_(still)))
            await session.execute(delete(Execution).where(Execution.id.in_(ids), *prunable))
        removed += len(ids)
    if removed:
        await checkpoint_sqlite(db)
    return removed
