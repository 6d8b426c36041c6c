"""Handing a sync caller its run's answer (the respond node's value, or the end) without polling.

In-process, the runner publishes the answer the moment it is committed, and each waiter's future
resolves with it: no database read at all. A run answered by another process is announced on
PostgreSQL by a NOTIFY on `ANSWERS_CHANNEL` sent in the transaction that commits the answer (so
it arrives only once the answer is visible); the process whose caller waits reads that run once
and hands it over. The database fallback covers what no notification can: a run that ended
before its caller started waiting (an idempotent replay) and, with nobody announcing answers
(SQLite, or PostgreSQL while the LISTEN connection is down), runs answered by other processes.
With the listener up, it reads each waiter once, one tick after it started waiting; without it,
one shared read per tick for every waiter of this process together (only while someone waits).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, select

from weft.engine.runs import states
from weft.store.dialects import dialect_of
from weft.store.json_codec import valid_json
from weft.store.tables import Execution

FALLBACK_TICK_S = 0.1
ANSWERS_CHANNEL = "weft_answers"
# The most run ids one NOTIFY names: a payload holds under 8000 bytes, a 24-hex id and its comma
# take 25, and the sender's token 13. A group commit's batch is bounded by it
# (engine.writes.commits).
IDS_PER_NOTIFY = 256


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

    def as_stored(self) -> RunAnswer:
        """The answer as its row reads back (a runner publishes the values it wrote)."""
        return replace(
            self,
            response=valid_json(self.response),
            output=valid_json(self.output),
            error=valid_json(self.error),
        )

    @classmethod
    def of(cls, execution: Any) -> RunAnswer:
        """From an execution row."""
        return cls(
            execution.id, execution.status, execution.response, execution.output, execution.error
        )


def answers_a_caller(values: dict[str, Any]) -> bool:
    """Whether a write of these execution columns gives a sync caller something (a response or
    the end), so other processes must hear of it."""
    return "response" in values or values.get("status") in states.TERMINAL


_sender: tuple[int, str] = (0, "")


def sender_token() -> str:
    """This process's name in the notifications it sends (new after a fork). Per process, not
    per `Answers`: whatever commits an answer here also hands it to this process's waiters."""
    global _sender
    if _sender[0] != os.getpid():
        _sender = (os.getpid(), secrets.token_hex(6))
    return _sender[1]


def announce_answers(connection: Connection, execution_ids: Iterable[str]) -> None:
    """PostgreSQL: tell the other processes' waiters, at this transaction's commit, that these
    runs answered (one statement per IDS_PER_NOTIFY runs). This process's own waiters hear it
    directly. Takes a sync connection (from an async session: `session.run_sync`)."""
    ids = list(execution_ids)
    dialect = dialect_of(connection)
    if not ids or not dialect.notifies:
        return
    for start in range(0, len(ids), IDS_PER_NOTIFY):
        payload = f"{sender_token()}:{','.join(ids[start : start + IDS_PER_NOTIFY])}"
        dialect.notify_sync(connection, ANSWERS_CHANNEL, payload)


class Answers:
    """Futures of the callers waiting in this process, by execution id, and the fallback."""

    def __init__(self, tick_s: float = FALLBACK_TICK_S) -> None:
        self.tick_s = tick_s
        self._waiting: dict[str, set[asyncio.Future[RunAnswer]]] = defaultdict(set)
        self._db: Any = None
        # True while this process LISTENs on ANSWERS_CHANNEL (set by engine.workers.host).
        self._listening = False
        self._unread: set[str] = set()  # waiters' runs no read has looked at since they began
        self._announced: set[str] = set()  # runs another process announced, to read
        self._poller: asyncio.Task[None] | None = None
        self._poller_sleeping = False
        # Whether a run is being run by this process right now: its runner publishes its
        # answer, so the fallback does not read it (engine.starts.direct.DirectStarts.running).
        self.running_here: Callable[[str], bool] = lambda _execution_id: False
        self._reader: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        """Whether other processes' answers arrive as notifications (no periodic reads)."""
        return self._listening

    def set_listening(self, listening: bool) -> None:
        """The LISTEN connection came up (or went down): notifications lost while it was down
        are made up for by one read of every waiter."""
        self._listening = listening
        self._unread.update(self._waiting)
        if self._waiting and self._db is not None:
            self._ensure_poller(self._db)

    def publish(self, answer: RunAnswer) -> None:
        """Hand `answer` (committed already) to everyone waiting on that run."""
        waiters = self._waiting.pop(answer.id, ())
        if waiters:
            answer = answer.as_stored()
        for future in waiters:
            if not future.done():
                future.set_result(answer)

    def announced(self, payload: str) -> None:
        """A notification from another process: read the runs named in it that someone here
        waits on (all together, once)."""
        sender, _, ids = payload.partition(":")
        if sender == sender_token() or self._db is None:
            return  # this process's own answers were published directly
        wanted = [i for i in ids.split(",") if i in self._waiting]
        if not wanted:
            return
        self._announced.update(wanted)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(
                self._read_announced(), name="sync answers announced"
            )

    async def wait(
        self, db: Any, execution_id: str, *, until_response: bool, timeout_s: float
    ) -> RunAnswer | None:
        """The run's answer once it settles the caller, or None when `timeout_s` passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        self._db = db
        self._unread.add(execution_id)
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

    def expect(self, execution_id: str) -> asyncio.Future[RunAnswer]:
        """A future of the run's next answer published in this process (no fallback reads: for
        a run this process runs, engine.starts.subflows); `forget` it after."""
        future: asyncio.Future[RunAnswer] = asyncio.get_running_loop().create_future()
        self._waiting[execution_id].add(future)
        return future

    def forget(self, execution_id: str, future: asyncio.Future[RunAnswer]) -> None:
        """Stop waiting with `future`."""
        self._forget(execution_id, future)

    def _forget(self, execution_id: str, future: asyncio.Future[RunAnswer]) -> None:
        waiters = self._waiting.get(execution_id)
        if waiters is not None:
            waiters.discard(future)
            if not waiters:
                self._waiting.pop(execution_id, None)
        if execution_id not in self._waiting:
            self._unread.discard(execution_id)
        if not self._waiting and self._poller is not None and self._poller_sleeping:
            self._poller.cancel()  # only while it sleeps: never mid-query
            self._poller = None

    def _ensure_poller(self, db: Any) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(db), name="sync answers fallback")

    async def _poll(self, db: Any) -> None:
        while self._waiting and (self._unread or not self._listening):
            self._poller_sleeping = True
            try:
                await asyncio.sleep(self.tick_s)
            finally:
                self._poller_sleeping = False
            # Listening, only runs nobody has read yet; else every waiter's, each tick. Runs
            # this process runs are left out: their runner hands their answer over.
            pending = self._unread if self._listening else self._waiting
            ids = [i for i in pending if not self.running_here(i)]
            self._unread.clear()
            if ids:
                await self._read_and_publish(db, ids)
        self._poller = None

    async def _read_announced(self) -> None:
        while self._announced:
            ids = [i for i in self._announced if i in self._waiting]
            self._announced.clear()
            if ids:
                await self._read_and_publish(self._db, ids)

    async def _read_and_publish(self, db: Any, ids: list[str]) -> None:
        try:
            answers = await _answered(db, ids)
        except Exception:
            self._unread.update(i for i in ids if i in self._waiting)  # retried next tick
            self._ensure_poller(db)
            return
        for answer in answers:
            self.publish(answer)


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
