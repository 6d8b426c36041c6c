"""Handing a sync caller its run's answer (the respond node's value, or the end) without polling.

In-process, the runner publishes the answer the moment it is committed, and each waiter's future
resolves with it: no database read at all. A run answered by another process is found by one
shared query per tick for every waiter of this process together (only while someone waits),
instead of each waiter re-reading its own row in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from weft.engine import states
from weft.store.tables import Execution

FALLBACK_TICK_S = 0.1


@dataclass(frozen=True)
class RunAnswer:
    """What a sync caller needs of a run: its status, respond value, output and error."""

    id: str
    status: str
    response: dict[str, Any] | None = None
    output: Any = None
    error: dict[str, Any] | None = None

    def settles(self, until_response: bool) -> bool:
        """Whether a caller waiting for the end (or, with `until_response`, a response) is done."""
        return self.status in states.TERMINAL or bool(until_response and self.response)

    @classmethod
    def of(cls, execution: Any) -> RunAnswer:
        """From an execution row."""
        return cls(
            execution.id, execution.status, execution.response, execution.output, execution.error
        )


class Answers:
    """Futures of the callers waiting in this process, by execution id, and the shared fallback."""

    def __init__(self, tick_s: float = FALLBACK_TICK_S) -> None:
        self.tick_s = tick_s
        self._waiting: dict[str, set[asyncio.Future[RunAnswer]]] = defaultdict(set)
        self._poller: asyncio.Task[None] | None = None
        self._poller_sleeping = False
        # Whether a run is being run by this process right now: its runner publishes its
        # answer, so the fallback does not read it (engine.direct.DirectStarts.running).
        self.running_here: Callable[[str], bool] = lambda _execution_id: False

    def publish(self, answer: RunAnswer) -> None:
        """Hand `answer` (committed already) to everyone waiting on that run."""
        for future in self._waiting.pop(answer.id, ()):
            if not future.done():
                future.set_result(answer)

    async def wait(
        self, db: Any, execution_id: str, *, until_response: bool, timeout_s: float
    ) -> RunAnswer | None:
        """The run's answer once it settles the caller, or None when `timeout_s` passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            future: asyncio.Future[RunAnswer] = loop.create_future()
            self._waiting[execution_id].add(future)
            self._ensure_poller(db)
            try:
                answer = await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
            except TimeoutError:
                return None
            finally:
                self._forget(execution_id, future)
            if answer.settles(until_response):
                return answer

    def _forget(self, execution_id: str, future: asyncio.Future[RunAnswer]) -> None:
        waiters = self._waiting.get(execution_id)
        if waiters is not None:
            waiters.discard(future)
            if not waiters:
                self._waiting.pop(execution_id, None)
        if not self._waiting and self._poller is not None and self._poller_sleeping:
            self._poller.cancel()  # only while it sleeps: never mid-query
            self._poller = None

    def _ensure_poller(self, db: Any) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(db), name="sync answers fallback")

    async def _poll(self, db: Any) -> None:
        while self._waiting:
            self._poller_sleeping = True
            try:
                await asyncio.sleep(self.tick_s)
            finally:
                self._poller_sleeping = False
            if not self._waiting:
                break
            ids = [i for i in self._waiting if not self.running_here(i)]
            if not ids:
                continue
            with contextlib.suppress(Exception):  # a failed read is retried next tick
                for answer in await _answered(db, ids):
                    self.publish(answer)
        self._poller = None


async def _answered(db: Any, ids: list[str]) -> list[RunAnswer]:
    """The runs among `ids` that ended or responded, in one read."""
    async with db.reading() as session:
        rows = await session.execute(
            select(
                Execution.id,
                Execution.status,
                Execution.response,
                Execution.output,
                Execution.error,
            ).where(Execution.id.in_(ids))
        )
        answers = [RunAnswer(*row) for row in rows]
    return [answer for answer in answers if answer.settles(until_response=True)]
