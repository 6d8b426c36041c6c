"""A worker: claims due executions in batches, runs them, renews their leases, stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from typing import Any

from weft.engine.interpreter.runner import Runner
from weft.engine.runs import lifecycle, queue
from weft.engine.runs.clock_jumps import BackwardJumps, redate_after_backward_jump
from weft.engine.starts.direct import UnsavedRun
from weft.engine.workers.services import Services
from weft.ids import new_id
from weft.store.db import log_database_failure

log = logging.getLogger("weft.worker")


def worker_name() -> str:
    """A unique lease owner: host, process and a random part."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{new_id()[-8:]}"


class Worker:
    """One claim loop with up to `concurrency` executions in flight."""

    def __init__(self, services: Services, *, name: str | None = None) -> None:
        self.services = services
        self.name = name or worker_name()
        settings = services.settings
        self.concurrency = settings.worker_concurrency
        self.lease_s = settings.lease_s
        self.leases = queue.LeaseDeadlines(self.lease_s)
        self.clock_jumps = BackwardJumps()
        self.runner = Runner(services, self.name, self.leases)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.unsaved: dict[str, UnsavedRun] = {}  # adopted runs whose row is not written yet
        self._writing: set[asyncio.Future[None]] = set()
        self._accounts: dict[str, int] = {}  # running here, by linked account
        self._reserved = 0  # slots held for sub-workflow runs being written (`reserve`)
        # Whether the last claim may have left queued work behind (it got all it asked for):
        # direct starts and in-process children wait behind it then. True until the first claim.
        self._backlog = True
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()

    async def run(self) -> None:
        """Claim and run until `stop()`."""
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not self._stopping.is_set():
                claimed = await self._claim()
                if not claimed:
                    await self._idle()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _claim(self) -> list[queue.Claimed]:
        try:
            if self.clock_jumps.redate_due():
                await redate_after_backward_jump(self.services.db)
        except Exception as error:
            log_database_failure(log, "re-dating runs after the clock went back failed", error)
        free = self.concurrency - len(self.tasks) - self._reserved
        if free <= 0:
            return []
        since = time.monotonic()
        limit = min(free, 64)
        try:
            claimed = await lifecycle.claim_due_executions(
                self.services.db,
                owner=self.name,
                limit=limit,
                lease_s=self.lease_s,
                per_account=self.services.settings.account_concurrency,
            )
        except Exception as error:  # a database hiccup must not kill the worker
            log_database_failure(log, "claim failed; retrying", error)
            await asyncio.sleep(1)
            return []
        # Fewer than asked for: the queue held no more this worker may take. Were it read as a
        # backlog until the next (empty) claim, a run claimed just now would queue its first
        # sub-workflow child and park instead of running it here.
        self._backlog = len(claimed) >= limit
        for item in claimed:
            self.leases.claimed(item, since)
            stale = self.tasks.get(item.id)
            if stale is not None:
                # This worker stalled past its own lease and claimed the run again: the first
                # claim is fenced out (engine.runs.queue.fenced), so its task stops here.
                stale.cancel()
            self._start(item)
        return claimed

    def _start(self, item: queue.Claimed, unsaved: UnsavedRun | None = None) -> None:
        task = asyncio.create_task(self.runner.run(item, unsaved), name=f"run {item.id}")
        self.tasks[item.id] = task
        account = item.linked_account_pk
        self._accounts[account] = self._accounts.get(account, 0) + 1
        task.add_done_callback(lambda done, key=item.id: self._done(key, account, done))

    def _done(self, execution_id: str, account: str, task: asyncio.Task[None]) -> None:
        if self.tasks.get(execution_id) is task:  # not a newer claim's task
            del self.tasks[execution_id]
            self.unsaved.pop(execution_id, None)
        left = self._accounts.get(account, 1) - 1
        if left:
            self._accounts[account] = left
        else:
            self._accounts.pop(account, None)
        self._slot_freed.set()

    # -- direct execution (engine.starts.direct) ---------------------------------------------------

    @property
    def adopting(self) -> bool:
        """Whether it takes directly started runs now: running, a slot free, no queue seen."""
        busy = len(self.tasks) + self._reserved >= self.concurrency
        return not (self._stopping.is_set() or self._backlog or busy)

    def adopt(self, row: dict[str, Any]) -> UnsavedRun | None:
        """Run a just-triggered execution here at once, leased to this worker; None: no room.

        `row` holds a queued execution's column values; it becomes this worker's running,
        leased run (engine.runs.lifecycle.lease_new_run) and is written with the run's first commit.
        """
        account = row["linked_account_pk"]
        if (
            not self.adopting
            or self._accounts.get(account, 0) >= self.services.settings.account_concurrency
        ):
            return None
        since = time.monotonic()
        item = lifecycle.lease_new_run(row, owner=self.name, lease_s=self.lease_s)
        self.leases.claimed(item, since)
        unsaved = self.unsaved[item.id] = UnsavedRun(row, self.runner.commits.write)
        self._start(item, unsaved)
        return unsaved

    def reserve(self, account: str) -> bool:
        """Hold a slot for a run of `account` that this worker's own transaction is writing
        already leased to it (a sub-workflow run, engine.starts.subflows); False: no room.
        Then `start_reserved` runs it, or `unreserve` gives the slot back."""
        room = self._accounts.get(account, 0) < self.services.settings.account_concurrency
        if not (self.adopting and room):
            return False
        self._reserved += 1
        self._accounts[account] = self._accounts.get(account, 0) + 1
        return True

    def unreserve(self, account: str) -> None:
        """Give back a slot `reserve` held."""
        self._reserved -= 1
        left = self._accounts.get(account, 1) - 1
        if left:
            self._accounts[account] = left
        else:
            self._accounts.pop(account, None)

    def start_reserved(self, item: queue.Claimed, since: float) -> asyncio.Task[None]:
        """Run `item`, written leased to this worker at monotonic time `since`, in its slot."""
        self.unreserve(item.linked_account_pk)
        self.leases.claimed(item, since)
        self._start(item)
        return self.tasks[item.id]

    async def _idle(self) -> None:
        work = self.services.wakeups.work
        waits = [asyncio.ensure_future(work.wait()), asyncio.ensure_future(self._stopping.wait())]
        if len(self.tasks) >= self.concurrency:
            self._slot_freed.clear()
            waits.append(asyncio.ensure_future(self._slot_freed.wait()))
        try:
            await asyncio.wait(
                waits, timeout=self.services.settings.poll_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waits:
                waiter.cancel()
        work.clear()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            # Adopted runs not written yet have no lease to renew: write them now instead.
            for unsaved in list(self.unsaved.values()):
                if not unsaved.saved:
                    writing = asyncio.ensure_future(unsaved.persist())
                    self._writing.add(writing)
                    writing.add_done_callback(self._writing.discard)
            ids = [i for i in self.tasks if i not in self.unsaved or self.unsaved[i].saved]
            since = time.monotonic()
            try:
                kept = await queue.renew_leases(
                    self.services.db, owner=self.name, ids=ids, lease_s=self.lease_s
                )
            except Exception as error:
                log_database_failure(log, "lease renewal failed", error)
                continue
            for held in kept:
                self.leases.renewed(held, since)
            for lost in set(ids) - kept:  # cancelled by a user, or reclaimed after a stall
                task = self.tasks.get(lost)
                if task is not None:
                    task.cancel()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming, let running executions finish for `grace_s`, then release the rest."""
        self._stopping.set()
        pending = list(self.tasks.values())
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace_s)
            # Adopted runs still going are written first, so releasing hands them on too.
            await asyncio.gather(*(unsaved.persist() for unsaved in list(self.unsaved.values())))
            for task in still:
                task.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
        await lifecycle.release_leases(self.services.db, owner=self.name)
