"""Backward jumps of the wall clock (an NTP step, a VM restored from a snapshot).

Due times are wall-clock moments. Jumping forward only brings them sooner: leases lapse (and the
worker's own check, queue.LeaseDeadlines, stops it from calling out on a lapsed lease) and delays
end early by the size of the jump. Jumping back pushes every due time away: a delayed run then
waits longer, visibly (status waiting, with its due time), but a queued run, due "now" by the old
clock, would sit unclaimed for as long as the jump. So a worker that sees its clock go back
re-dates queued runs to the new clock, on the tick it notices and for a few seconds after (a
trigger that read the clock just before the jump may commit just after it). Leases are left
alone: their owners renew them on the new clock within a third of a lease, and shortening them
would let a worker still reading the old clock reclaim runs that are alive (a dead worker's
runs are reclaimed once the clock is back where their leases end).
"""

from __future__ import annotations

import time

from sqlalchemy import update

from weft.clock import now
from weft.engine.runs import states
from weft.store.db import Database
from weft.store.tables import Execution

JUMP_S = 1.0  # smaller moves are NTP slewing and scheduling noise
REDATE_FOR_S = 5.0


class BackwardJumps:
    """Notices the wall clock going back, comparing it with the monotonic clock."""

    def __init__(self) -> None:
        self._wall = now()
        self._mono = time.monotonic()
        self._redate_until = float("-inf")

    def redate_due(self) -> bool:
        """Whether the clock went back lately (then re-date, for a few seconds after)."""
        wall, mono = now(), time.monotonic()
        lag = (mono - self._mono) - (wall - self._wall).total_seconds()
        self._wall, self._mono = wall, mono
        if lag > JUMP_S:
            self._redate_until = mono + REDATE_FOR_S
        return mono < self._redate_until


async def redate_after_backward_jump(db: Database) -> int:
    """Queued runs due later (by the old clock) are due now; how many."""
    moment = now()
    async with db.transaction() as session:
        queued = await session.execute(
            update(Execution)
            .where(Execution.status == states.QUEUED, Execution.due_at > moment)
            .values(due_at=moment)
        )
    return int(queued.rowcount or 0)  # type: ignore[attr-defined]
