"""Wake-ups inside one process: new work for workers, changes for callers waiting on a run.

Across processes, workers also poll (and on PostgreSQL listen for NOTIFY); this only removes the
latency when trigger and worker share a process, as in `weft serve`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

QUEUE_CHANNEL = "weft_queue"


class Notifier:
    """In-process signals: `work_queued` for workers, per-execution `changed` for waiters."""

    def __init__(self) -> None:
        self.work = asyncio.Event()
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def work_queued(self) -> None:
        """Tell idle workers to claim now."""
        self.work.set()

    def changed(self, execution_id: str) -> None:
        """Tell whoever waits on this execution to look again."""
        for event in self._waiters.pop(execution_id, set()):
            event.set()

    async def wait_change(self, execution_id: str, within_s: float) -> None:
        """Sleep until the execution changes or `within_s` passes, whichever comes first."""
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
