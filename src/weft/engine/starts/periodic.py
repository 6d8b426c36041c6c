"""A round of work every few seconds until stopped: the loop the scheduler and the app-trigger
poller share. A failing round is logged and the next one still comes, so one broken row or a
database blip never stops starts for everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from weft.engine.workers.services import Services
from weft.store.db import log_database_failure


class Periodic:
    """Runs `round()` every `interval_s` seconds until `stop()`."""

    log: logging.Logger
    failure = "round failed"

    def __init__(self, services: Services, interval_s: float = 1.0) -> None:
        self.services = services
        self.interval_s = interval_s
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Stop after the current round."""
        self._stop.set()

    async def round(self) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        """Run rounds until stopped."""
        while not self._stop.is_set():
            try:
                await self.round()
            except Exception as error:
                log_database_failure(self.log, self.failure, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval_s)
