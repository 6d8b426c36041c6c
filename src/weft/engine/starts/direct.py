"""Direct execution: a run triggered in a process whose worker has a free slot runs there at once.

The claim round-trip is skipped: the worker adopts the run in memory, already leased to it, and
its execution row is written by the run's first commit (with the steps done so far), which
always lands before the run's first step with outside effects starts, before it parks or ends,
and within a third of a lease otherwise. Its id reaches callers only through the `StartedRun`
that starting it returns (engine.runs.lifecycle.start_run), and only once the row is written: a sync
caller gets it with the answer, which the commit carrying the row published; an async one from
`durable_id()`, which writes the row first if no commit has yet. Until then nothing
outside Weft has seen the run: if the process dies, the caller's request fails and nothing is
lost. Once written, the row is leased like a claimed one: if the process dies, the lease expires
and any worker resumes the run from its committed steps, exactly as for a claimed run.

The queue and claims remain for overflow (no free slot, or queued work waiting: a direct start
never jumps ahead of runs already queued, which keeps the claims' fairness across accounts),
parked runs, schedules and recovery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from weft.engine.runs.queue import Claimed, FencedWrite, insert_only
from weft.engine.workers.answers import Answers, RunAnswer
from weft.store.db import log_database_failure

log = logging.getLogger("weft.direct")


class UnsavedRun:
    """A direct run's execution row until a commit writes it; `written` resolves then.

    `write`: the group commit of the worker that adopted the run (engine.writes.commits)."""

    def __init__(
        self, row: dict[str, Any], write: Callable[[FencedWrite], Awaitable[None]]
    ) -> None:
        self._row: dict[str, Any] | None = row
        self._write = write
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

    async def persist(self) -> None:
        """Write the row now if no commit of the run has yet; wait until it is written."""
        row = self.take()
        if row is not None:
            try:
                await self._write(insert_only(row))
            except Exception as error:  # the run's own commits report it too
                log_database_failure(log, f"writing run {row['id']} failed", error)
            finally:
                self.settle()
        await asyncio.shield(self.written)


class StartedRun:
    """A run just started, queued or adopted here: its id is handed out only once its row is
    written, so whoever holds the id can find the run (and a crash cannot lose it)."""

    def __init__(self, execution_id: str, unsaved: UnsavedRun | None = None) -> None:
        self._id = execution_id
        self._unsaved = unsaved

    @classmethod
    def written(cls, execution_id: str) -> StartedRun:
        """A run whose row is in the database already (queued, or found by its id)."""
        return cls(execution_id)

    async def durable_id(self) -> str:
        """The run's id, once its row is written: a direct run with no commit yet is written
        now (the one extra commit of an async start); otherwise nothing is written."""
        if self._unsaved is not None:
            await self._unsaved.persist()
        return self._id

    async def answer(
        self, answers: Answers, db: Any, *, until_response: bool, timeout_s: float
    ) -> RunAnswer | None:
        """The run's answer once it settles a sync caller, or None when `timeout_s` passes
        first. An answer is published only once committed, with the row: its id is durable."""
        return await answers.wait(db, self._id, until_response=until_response, timeout_s=timeout_s)


class Adopter(Protocol):
    """A worker as direct starts see it (engine.workers.worker.Worker)."""

    @property
    def tasks(self) -> Collection[str]:
        """The ids of the runs it runs now."""
        ...

    def adopt(self, row: dict[str, Any]) -> UnsavedRun | None:
        """Run the queued execution `row` here at once; None: no room."""
        ...

    @property
    def name(self) -> str:
        """Its lease owner name."""
        ...

    def reserve(self, account: str) -> bool:
        """Hold a slot for a run of `account` being written leased to it; False: no room."""
        ...

    def unreserve(self, account: str) -> None:
        """Give back a slot `reserve` held."""
        ...

    def start_reserved(self, item: Claimed, since: float) -> asyncio.Task[None]:
        """Run `item`, written leased to it at monotonic time `since`, in the slot held."""
        ...


class DirectStarts:
    """The workers of this process that may adopt runs triggered here."""

    def __init__(self) -> None:
        self.workers: list[Adopter] = []

    def start(self, row: dict[str, Any]) -> StartedRun | None:
        """Run the execution `row` (a queued one's values) here, now; None: queue it instead."""
        for worker in sorted(self.workers, key=lambda w: len(w.tasks)):
            unsaved = worker.adopt(row)
            if unsaved is not None:
                return StartedRun(row["id"], unsaved)
        return None

    def worker_with_room(self, owner: str, account: str) -> Adopter | None:
        """The worker named `owner`, with a slot held for a run of `account` that it is to
        run at once (Worker.reserve); None: it is not here or has no room."""
        for worker in self.workers:
            if worker.name == owner:
                return worker if worker.reserve(account) else None
        return None

    def running(self, execution_id: str) -> bool:
        """Whether a worker of this process runs `execution_id` now (and will publish its end)."""
        return any(execution_id in worker.tasks for worker in self.workers)
