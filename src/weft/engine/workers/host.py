"""Starting and stopping the engine inside a process: services, workers and the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from weft.engine.interpreter.outbound import OrgOutbound, outbound_for
from weft.engine.runs.retention import Retention
from weft.engine.starts.app_triggers import AppTriggerPoller
from weft.engine.starts.scheduler import Scheduler
from weft.engine.workers.answers import ANSWERS_CHANNEL
from weft.engine.workers.services import Services
from weft.engine.workers.wakeups import QUEUE_CHANNEL
from weft.engine.workers.worker import Worker
from weft.net import OutboundClient, OutboundPolicy
from weft.notifications import NotificationDispatcher
from weft.settings import Settings
from weft.store.db import Database, log_database_failure

log = logging.getLogger("weft.engine")


class LazySandbox:
    """Starts the code-node subprocess pool on first use: most workflows never need it."""

    def __init__(self, size: int, caller_share: int = 0) -> None:
        self.size = size
        self.caller_share = caller_share
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def run(
        self,
        source: str,
        input: Any,
        *,
        timeout_ms: int,
        memory_mb: int,
        caller: str = "",
        scope: str | None = None,
    ) -> Any:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    from weft.sandbox import SandboxPool

                    share = self.caller_share or None
                    self._pool = SandboxPool(size=self.size, caller_share=share)
        return await self._pool.run(
            source, input, timeout_ms=timeout_ms, memory_mb=memory_mb, caller=caller, scope=scope
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


def build_services(db: Database, settings: Settings) -> Services:
    """The shared services of one process."""
    outbound = OutboundClient(OutboundPolicy.parse(settings.outbound_allow))
    return Services(
        db=db,
        settings=settings,
        outbound=outbound,
        sandbox=LazySandbox(settings.code_workers, settings.code_pool_account_share),
        org_outbound=OrgOutbound(
            db, outbound, settings.outbound_allow, settings.outbound_org_allow
        ),
    )


@dataclass
class Engine:
    """The workers, scheduler and pruner one process runs."""

    services: Services
    workers: list[Worker] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    scheduler: Scheduler | None = None
    app_triggers: AppTriggerPoller | None = None
    retention: Retention | None = None
    dispatcher: NotificationDispatcher | None = None

    async def start(self, workers: int, *, schedule: bool = True) -> None:
        """Start `workers` claim loops (and the scheduler)."""
        for _ in range(workers):
            worker = Worker(self.services)
            self.workers.append(worker)
            if self.services.settings.direct_execution:
                self.services.direct.workers.append(worker)
            self.tasks.append(asyncio.create_task(worker.run(), name=f"worker {worker.name}"))
        if schedule:
            self.scheduler = Scheduler(self.services)
            self.tasks.append(asyncio.create_task(self.scheduler.run(), name="scheduler"))
            # App triggers start runs as schedules do: wherever the scheduler runs.
            self.app_triggers = AppTriggerPoller(self.services)
            self.tasks.append(asyncio.create_task(self.app_triggers.run(), name="app triggers"))
            self.retention = Retention(self.services)
            self.tasks.append(asyncio.create_task(self.retention.run(), name="retention"))
        if workers > 0:  # deliveries go out from worker processes, not `weft api` ones
            services = self.services
            self.dispatcher = NotificationDispatcher(
                services.db,
                services.outbound,
                services.settings,
                client_for=lambda org_id: outbound_for(services, org_id),
            )
            self.tasks.append(asyncio.create_task(self.dispatcher.run(), name="notifications"))
        if self.services.db.dialect.notifies:
            self.tasks.append(asyncio.create_task(self._listen(), name="listen"))

    async def _listen(self) -> None:
        """Wake idle workers the moment another process queues work, and hand sync callers here
        the answers other processes announce (one connection, two channels): the dialect's
        LISTEN connection, made again whenever it drops (until it is up, both poll)."""
        db, answers, wakeups = self.services.db, self.services.answers, self.services.wakeups
        listeners = {
            QUEUE_CHANNEL: lambda _payload: wakeups.work_queued(),
            ANSWERS_CHANNEL: answers.announced,
        }
        while True:
            try:
                await db.dialect.listen(db.engine, listeners, answers.set_listening)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log_database_failure(
                    log, "LISTEN connection failed; polling until it is back", error
                )
                await asyncio.sleep(2)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming, finish or release in-flight runs, close services."""
        self.services.direct.workers.clear()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.app_triggers is not None:
            self.app_triggers.stop()
        if self.retention is not None:
            self.retention.stop()
        await asyncio.gather(*(w.stop(grace_s) for w in self.workers), return_exceptions=True)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.services.close()
