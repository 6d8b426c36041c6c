"""What a process remembers from the database for a moment, asked once however many ask.

Reads that every run or call makes (what a webhook starts, whether an org has quotas or
notification webhooks) have answers that rarely change. A `BriefCache` keeps each answer for
`ttl_s`; callers that miss together share one read: when a busy key's answer expires, the 32
callers in flight must not each send their own query.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

MAX_ENTRIES = 10_000


class BriefCache:
    """Entries by key, each valid for `ttl_s`; at most MAX_ENTRIES (all dropped past it)."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._loading: dict[Hashable, asyncio.Task[Any]] = {}

    def get(self, key: Hashable) -> Any:
        """The entry, or None when absent or older than the TTL."""
        found = self._entries.get(key)
        if found is None or self._clock() - found[0] > self.ttl_s:
            return None
        return found[1]

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """The entry, or what `load()` returns (remembered; None is not). Callers that miss
        together share one load, and a caller cancelled meanwhile cancels no one else's."""
        found = self.get(key)
        if found is not None:
            return found
        loading = self._loading.get(key)
        # A load of another event loop (a test's, finished) cannot be awaited from this one.
        if loading is None or loading.get_loop() is not asyncio.get_running_loop():
            loading = asyncio.ensure_future(self._load(key, load))
            self._loading[key] = loading
            loading.add_done_callback(lambda done: self._done_loading(key, done))
        return await asyncio.shield(loading)

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        began = self._clock()  # an answer read is as old as the moment the read began
        value = await load()
        if value is not None and self._loading.get(key) is asyncio.current_task():
            self._put(key, value, began)
        return value

    def _done_loading(self, key: Hashable, done: asyncio.Task[Any]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]

    def put(self, key: Hashable, value: Any) -> None:
        """Remember `value` under `key` from now on."""
        self._put(key, value, self._clock())

    def _put(self, key: Hashable, value: Any, moment: float) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (moment, value)

    def forget(self, key: Hashable) -> None:
        """Drop one entry, and any read of it under way (it may predate the change)."""
        self._entries.pop(key, None)
        self._loading.pop(key, None)

    def forget_where(self, matches: Callable[[Hashable], bool]) -> None:
        """Drop the entries, and reads under way, whose key `matches`."""
        for held in (self._entries, self._loading):
            for key in [k for k in held if matches(k)]:
                del held[key]

    def forget_all(self) -> None:
        """Drop every entry and read under way (something they depend on changed)."""
        self._entries.clear()
        self._loading.clear()
