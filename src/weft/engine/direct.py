"""Direct execution: a run triggered in a process whose worker has a free slot runs there at once.

The claim round-trip is skipped: the worker adopts the run in memory, already leased to it, and
its execution row is written by the run's first commit (with the steps done so far), which
always lands before the run's first step with outside effects starts, before it parks or ends,
before a caller is told its id, and within a third of a lease otherwise. Until then nothing
outside Weft has seen the run: if the process dies, the caller's request fails and nothing is
lost. Once written, the row is leased like a claimed one: if the process dies, the lease expires
and any worker resumes the run from its committed steps, exactly as for a claimed run.

The queue and claims remain for overflow (no free slot, or queued work waiting: a direct start
never jumps ahead of runs already queued, which keeps the claims' fairness across accounts),
parked runs, schedules and recovery.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weft.engine.worker import Worker


class UnsavedRun:
    """A direct run's execution row until a commit writes it; `written` resolves then."""

    def __init__(self, row: dict[str, Any]) -> None:
        self._row: dict[str, Any] | None = row
        self.written: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def take(self) -> dict[str, Any] | None:
        """The row to insert, once: the first commit of the run takes it, later ones get None."""
        row, self._row = self._row, None
        return row

    def settle(self) -> None:
        """The commit that carried the row is over (written, or failed and left to the lease)."""
        if not self.written.done():
            self.written.set_result(None)

    @property
    def saved(self) -> bool:
        """Whether the row is in the database (and its lease can be renewed)."""
        return self.written.done()


class DirectStarts:
    """The workers of this process that may adopt runs triggered here."""

    def __init__(self) -> None:
        self.workers: list[Worker] = []

    def start(self, row: dict[str, Any]) -> bool:
        """Run the execution `row` (a queued one's values) here, now; False: queue it instead."""
        ranked = sorted(self.workers, key=lambda w: len(w.tasks))
        return any(worker.adopt(row) for worker in ranked)

    def running(self, execution_id: str) -> bool:
        """Whether a worker of this process runs `execution_id` now (and will publish its end)."""
        return any(execution_id in worker.tasks for worker in self.workers)

    async def persist(self, execution_id: str) -> None:
        """Make sure a run started here is written (before its id is handed out)."""
        for worker in self.workers:
            await worker.persist(execution_id)
