"""In-process wake-ups: new work for idle workers, changes for callers waiting on a run.

Not to be confused with org notification webhooks (weft.notifications), which tell an org's
servers that a run ended. Across processes, workers also poll, and on PostgreSQL they listen for
the NOTIFY that `wake_workers_in_transaction` sends; the in-process events only remove the
latency when trigger and worker share a process, as in `weft serve`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from weft.store.dialects import dialect_of

QUEUE_CHANNEL = "weft_queue"


class Wakeups:
    """In-process signals: `work_queued` for workers, per-run `run_changed` for waiters."""

    def __init__(self) -> None:
        self.work = asyncio.Event()
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        # Sub-workflow runs whose parent waits for their end in this process (not parked):
        # their end need not wake workers to claim the parent.
        self.children_awaited: set[str] = set()

    def work_queued(self) -> None:
        """Tell idle workers to claim now."""
        self.work.set()

    def run_changed(self, execution_id: str) -> None:
        """Tell whoever waits on this run to look again."""
        for event in self._waiters.pop(execution_id, set()):
            event.set()

    def waiting_on(self, execution_id: str) -> bool:
        """Whether someone waits on this run now."""
        return bool(self._waiters.get(execution_id))

    async def wait_for_change(self, execution_id: str, within_s: float) -> None:
        """Sleep until the run changes or `within_s` passes, whichever comes first."""
        event = asyncio.Event()
        self._waiters[execution_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), within_s)
        except TimeoutError:
            pass
        finally:
            waiters = self._waiters.get(execution_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    self._waiters.pop(execution_id, None)


async def wake_workers_in_transaction(session: AsyncSession) -> None:
    """Wake workers in other processes when this transaction's work lands (PostgreSQL
    delivers NOTIFY at commit; on SQLite they poll)."""
    await dialect_of(session).notify(session, QUEUE_CHANNEL)
