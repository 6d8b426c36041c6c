"""What a webhook URL or an event starts, remembered for a moment.

A busy webhook would otherwise cost two reads per call, and a busy event three to five (its
listeners, the configs that enable public workflows, its schemas), for answers that rarely
change. This process forgets every entry at once whenever it publishes, unpublishes or deletes a
workflow, deletes a linked account, or changes a config or an event's definition; a change made
by another process is seen within `TTL_S`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

TTL_S = 1.0
MAX_ENTRIES = 10_000


class LiveCache:
    """Entries by key, each valid for `ttl_s`; `forget_all` drops them all."""

    def __init__(self, ttl_s: float = TTL_S) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Any]] = {}
        self._loading: dict[str, asyncio.Future[Any]] = {}

    def get(self, key: str) -> Any:
        """The entry, or None when absent or older than the TTL."""
        found = self._entries.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl_s:
            return None
        return found[1]

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        """The entry, or what `load()` returns (remembered). Callers that miss together share
        one load: a busy webhook's entry expiring must not send every caller to the database."""
        found = self.get(key)
        if found is not None:
            return found
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(load())
            self._loading[key] = loading
            loading.add_done_callback(lambda _done: self._loading.pop(key, None))
        value = await asyncio.shield(loading)
        self.put(key, value)
        return value

    def put(self, key: str, value: Any) -> None:
        """Remember `value` under `key` from now on."""
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)

    def forget_all(self) -> None:
        """Drop every entry (something they depend on changed)."""
        self._entries.clear()


LIVE_STARTS = LiveCache()
