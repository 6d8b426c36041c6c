"""Sends queued notifications: claims due deliveries, posts them signed, retries with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from weft.clock import now
from weft.crypto import SecretUnreadable
from weft.net import OutboundClient, OutboundError
from weft.notifications.crypto import sign, signing_box
from weft.notifications.outbox import (
    ClaimedDelivery,
    claim_due_deliveries,
    prune_finished_deliveries,
    record_delivered,
    record_failed_attempt,
    release_claims,
)
from weft.settings import Settings
from weft.store.db import Database, log_database_failure

log = logging.getLogger("weft.notifications")

SIGNATURE_HEADER = "x-cobalt-signature"


class NotificationDispatcher:
    """One loop per process; safe to run in many processes against one database.

    Attempt n that fails waits about `base_delay_s * 2**(n-1)` (capped at `max_delay_s`, with
    jitter so a receiver that comes back is not hit by every retry at once); after
    `max_attempts` the delivery is failed. Refusals that cannot change by retrying (the
    private-network guard, a malformed URL) fail at once.
    """

    def __init__(
        self,
        db: Database,
        outbound_client: OutboundClient,
        settings: Settings,
        *,
        base_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        max_attempts: int = 8,
        concurrency: int = 16,
        timeout_s: float = 10.0,
        poll_s: float | None = None,
        retention_s: float = 7 * 24 * 3600,
        client_for: Callable[[str], Awaitable[OutboundClient]] | None = None,
    ) -> None:
        self.db = db
        self.client = outbound_client
        self.client_for = client_for
        self.box = signing_box(settings)
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        # Notifications may wait a second; each poll is a write transaction on SQLite.
        self.poll_s = max(1.0, settings.poll_s) if poll_s is None else poll_s
        self.retention_s = retention_s
        # A claim outlives the send it covers, or a slow receiver would be sent twice.
        self.lease_s = timeout_s * 2 + 30
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False
        self._inflight: dict[asyncio.Task[None], ClaimedDelivery] = {}
        self._next_prune = 0.0

    def wake(self) -> None:
        """Look for due deliveries now (new ones were just queued in this process)."""
        self._wake.set()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop claiming; wait up to `grace_s` for sends in flight, hand back the rest."""
        self._stopping.set()
        self._wake.set()
        if self._running:
            # Let the loop leave first, so it starts no send after the snapshot below.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), grace_s)
        if self._inflight:
            _done, pending = await asyncio.wait(list(self._inflight), timeout=grace_s)
            unfinished = [self._inflight[task] for task in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if unfinished:
                with contextlib.suppress(Exception):
                    await release_claims(self.db, unfinished)

    async def run(self) -> None:
        """Claim and send due deliveries until stopped."""
        self._running = True
        try:
            while not self._stopping.is_set():
                # Cleared before claiming, so a wake-up that comes meanwhile is not lost.
                self._wake.clear()
                free = self.concurrency - len(self._inflight)
                claimed: list[ClaimedDelivery] = []
                try:
                    claimed = await claim_due_deliveries(self.db, limit=free, lease_s=self.lease_s)
                    await self._prune_now_and_then()
                except Exception as error:
                    log_database_failure(log, "claiming notification deliveries failed", error)
                for delivery in claimed:
                    task = asyncio.create_task(
                        self._deliver(delivery), name=f"notify {delivery.id}"
                    )
                    self._inflight[task] = delivery
                    task.add_done_callback(self._finished)
                if claimed and len(claimed) == free:
                    continue  # a full batch: there may be more due, claim again once a slot frees
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
        finally:
            self._stopped.set()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        self._wake.set()  # a slot is free

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        try:
            error, retryable = await self._send(delivery)
            if error is None:
                await record_delivered(self.db, delivery)
                return
            retry_at = None
            if retryable and delivery.attempts < self.max_attempts:
                retry_at = now() + timedelta(seconds=self.backoff_s(delivery.attempts))
            await record_failed_attempt(self.db, delivery, error=error, retry_at=retry_at)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # The claim's lease ends and another attempt follows: nothing is lost.
            log_database_failure(
                log, f"recording notification delivery {delivery.id} failed", error
            )

    async def _send(self, delivery: ClaimedDelivery) -> tuple[str | None, bool]:
        """Post one delivery; (None, _) on 2xx, else (why it failed, whether to retry)."""
        try:
            secret = self.box.open(delivery.secret_sealed, context=delivery.subscription_id)
        except SecretUnreadable as error:
            return f"{error} (was WEFT_SECRET_KEY changed?)", False
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            "x-weft-event": delivery.event,
            "x-weft-delivery-id": delivery.id,
            "x-weft-attempt": str(delivery.attempts),
        }
        try:
            client = self.client
            if self.client_for is not None:
                client = await self.client_for(delivery.org_id)
            response = await client.request(
                "POST", delivery.url, headers=headers, content=body, timeout_s=self.timeout_s
            )
        except OutboundError as error:
            return error.message, error.retryable
        except Exception as error:  # unexpected, but a later attempt may fare better
            return f"{type(error).__name__}: {error}", True
        if 200 <= response.status < 300:
            return None, False
        return f"HTTP {response.status}: {_excerpt(response.body)}", True

    def backoff_s(self, attempts: int) -> float:
        """Seconds before the attempt after attempt number `attempts` (from 1)."""
        delay = min(self.max_delay_s, self.base_delay_s * 2 ** (attempts - 1))
        # "Equal jitter": at least half the delay, so retries still back off.
        return delay / 2 + random.uniform(0, delay / 2)

    async def _prune_now_and_then(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time < self._next_prune:
            return
        self._next_prune = loop_time + 300
        cutoff = now() - timedelta(seconds=self.retention_s)
        await prune_finished_deliveries(self.db, older_than=cutoff, limit=1000)


def _excerpt(body: Any, limit: int = 200) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return text[:limit]
