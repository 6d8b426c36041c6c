"""Rate limits per API key, per session token and per source address for failed sign-ins.

Fixed windows: each limit counts hits in the current window (`window_s` long) and refuses the
ones past its allowance until the window ends. On PostgreSQL the counts live in the
`rate_windows` table, one upsert per hit, so every API process shares them; SQLite deployments
count in memory (a write per request would queue every request behind SQLite's single writer),
or, when `weft serve` runs several processes, in a file they all map (tenancy.shared_counts).
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete

from weft.errors import RateLimited
from weft.observability.metrics import observe_rate_limited
from weft.store.db import Database
from weft.store.tables import RateWindow
from weft.tenancy.shared_counts import SharedCounts

PRUNE_CHANCE = 0.001  # now and then, a hit also deletes windows that ended long ago
MAX_REMEMBERED_OVER = 10_000  # then the ended windows' entries are dropped


@dataclass(frozen=True)
class Limit:
    """`allowed` hits per `window_s` seconds for one kind of caller (`name`)."""

    name: str
    allowed: int
    window_s: int = 60


class RateLimiter:
    """Counts hits per bucket and window; raises `RateLimited` (with Retry-After) past a limit."""

    def __init__(self, db: Database, shared_file: Path | None = None) -> None:
        self.db = db
        # Counted in the database when every API process can share it cheaply (PostgreSQL),
        # otherwise here (see the module's docstring).
        self._in_database = db.dialect.counts_rate_windows_in_database
        self._memory: dict[tuple[str, int], int] = {}
        # SQLite with several serving processes: counts they share (None: this process's own).
        self._shared = SharedCounts(shared_file) if shared_file is not None else None
        # Buckets this process saw over their limit, with that window: counts only grow within
        # a window, so their next hits are refused without a write (a flood of refused guesses
        # would otherwise cost PostgreSQL one upsert each).
        self._over: dict[str, int] = {}

    async def hit(self, limit: Limit, caller: str) -> None:
        """Count one hit of `caller` against `limit`; raise `RateLimited` if it is over."""
        if limit.allowed <= 0:
            return  # 0 turns the limit off
        bucket, window = _bucket(limit, caller), _window(limit)
        if self._over.get(bucket) == window:
            raise _refusal(limit, window)
        hits = await self._increment(bucket, window, limit)
        if hits > limit.allowed:
            if len(self._over) >= MAX_REMEMBERED_OVER:
                self._over = {b: w for b, w in self._over.items() if w >= window}
            self._over[bucket] = window
            raise _refusal(limit, window)

    async def _increment(self, bucket: str, window: int, limit: Limit) -> int:
        if not self._in_database:
            if self._shared is not None:
                shared = self._shared.increment(bucket, window, limit.window_s)
                if shared is not None:
                    return shared
            hits = self._memory.get((bucket, window), 0) + 1
            self._memory[(bucket, window)] = hits
            if random.random() < PRUNE_CHANCE:
                self._prune_memory(window - limit.window_s)
            return hits
        statement = (
            self.db.dialect.insert(RateWindow)
            .values(bucket=bucket, window_start=window, hits=1)
            .on_conflict_do_update(
                index_elements=[RateWindow.bucket, RateWindow.window_start],
                set_={"hits": RateWindow.hits + 1},
            )
            .returning(RateWindow.hits)
        )
        async with self.db.transaction() as session:
            hits = int((await session.execute(statement)).scalar_one())
            if random.random() < PRUNE_CHANCE:
                older = window - 10 * limit.window_s
                await session.execute(delete(RateWindow).where(RateWindow.window_start < older))
        return hits

    def _prune_memory(self, before: int) -> None:
        for key in [key for key in self._memory if key[1] < before]:
            self._memory.pop(key, None)


def _bucket(limit: Limit, caller: str) -> str:
    # Credentials are never stored, not even as bucket names: a short hash stands for them.
    digest = hashlib.sha256(caller.encode()).hexdigest()[:40]
    return f"{limit.name}:{digest}"


def _window(limit: Limit) -> int:
    return int(time.time() // limit.window_s) * limit.window_s


def _refusal(limit: Limit, window: int) -> RateLimited:
    retry_after = max(1, int(window + limit.window_s - time.time() + 0.999))
    observe_rate_limited(limit.name)
    return RateLimited(
        f"Too many requests ({limit.allowed} per {limit.window_s} s for this {limit.name}); "
        f"retry in {retry_after} s",
        retry_after=retry_after,
    )
