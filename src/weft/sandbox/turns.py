"""Fair turns at a few shared workers: one FIFO per caller, callers served round-robin, each capped.

One queue for everybody lets whoever asks most hold every worker: four 30-second code loops of
one linked account made another org's trivial step wait 30 s. Here each caller (an org's linked
account) waits in its own queue; a freed worker goes to the next caller in turn, and no caller
may hold more than `share` workers at once, so the others always find one soon. Calls that
name no caller ("", direct uses of the pool outside the engine) take turns as one caller without
a cap.

A call known to be quick may *borrow* a free worker past its caller's share, but only while no
other caller waits: a lone busy account then uses every idle worker (one account's quick code
steps ran at 80 % of the throughput of the whole pool with the cap), and a caller who arrives
later waits at most for one borrowed call to end. Whether a call is quick is the pool's judgment
(sandbox.pool: its code's recent calls all were); a turn says whether it was borrowed, so that
the pool can hold a borrowed call to a short deadline of its own (one quick streak must not
lend a worker to a slow input).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from typing import Generic, TypeVar

Item = TypeVar("Item")


class FairTurns(Generic[Item]):
    """Hands free items to waiting callers: per-caller FIFO, round-robin, at most `share` each."""

    def __init__(self, share: int) -> None:
        if share < 1:
            raise ValueError("a caller's share must be at least one")
        self.share = share
        self._free: deque[Item] = deque()
        # Insertion order is the order of turns: a caller just served moves to the back.
        self._queues: dict[str, deque[asyncio.Future[tuple[Item, bool]]]] = {}
        self._held: Counter[str] = Counter()
        # Waiting turns that may borrow.
        self._borrowers: set[asyncio.Future[tuple[Item, bool]]] = set()

    def held(self, caller: str) -> int:
        """How many items `caller` holds now."""
        return self._held[caller]

    def waiting(self) -> int:
        """How many calls wait for an item."""
        return sum(len(queue) for queue in self._queues.values())

    def put(self, item: Item) -> None:
        """A new (or newly free) item nobody holds."""
        self._free.append(item)
        self._dispatch()

    async def take(self, caller: str, *, may_borrow: bool = False) -> Item:
        """Wait for `caller`'s turn and an item; the caller holds it until `give_back`.

        With `may_borrow`, the turn may come past the caller's share while nobody else waits."""
        item, _ = await self.take_turn(caller, may_borrow=may_borrow)
        return item

    async def take_turn(self, caller: str, *, may_borrow: bool = False) -> tuple[Item, bool]:
        """As `take`; also says whether the item was borrowed (taken past the caller's share)."""
        if self._free and not self._queues and (may_borrow or self._within_share(caller)):
            # Nobody waits and the caller is within its share (or may borrow): its turn is now,
            # no wake-up.
            return self._free.popleft(), self._grant(caller)
        turn: asyncio.Future[tuple[Item, bool]] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(caller, deque()).append(turn)
        if may_borrow:
            self._borrowers.add(turn)
        self._dispatch()
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                # Handed an item just as the caller was cancelled: it goes to the next in turn.
                self.give_back(caller, turn.result()[0])
            else:
                self._forget(caller, turn)
            raise
        finally:
            self._borrowers.discard(turn)

    def give_back(self, caller: str, item: Item | None) -> None:
        """`caller` stops holding an item; `item` is free again unless None (it was discarded)."""
        self._held[caller] -= 1
        if self._held[caller] <= 0:
            del self._held[caller]
        if item is not None:
            self._free.append(item)
        self._dispatch()

    def fail_all(self, error: BaseException) -> None:
        """Wake every waiting call with `error` (the pool is closing)."""
        queues, self._queues = self._queues, {}
        for queue in queues.values():
            for turn in queue:
                if not turn.done():
                    turn.set_exception(error)

    def _grant(self, caller: str) -> bool:
        """Count one more item held by `caller`; whether it is past the share (borrowed)."""
        borrowed = not self._within_share(caller)
        self._held[caller] += 1
        return borrowed

    def _forget(self, caller: str, turn: asyncio.Future[tuple[Item, bool]]) -> None:
        queue = self._queues.get(caller)
        if queue is None:
            return
        with contextlib.suppress(ValueError):
            queue.remove(turn)
        if not queue:
            del self._queues[caller]

    def _dispatch(self) -> None:
        while self._free:
            caller = self._next_caller()
            if caller is None:
                return
            queue = self._queues.pop(caller)
            turn = queue.popleft()
            if queue:
                self._queues[caller] = queue  # back of the line
            if turn.done():  # cancelled, its caller not yet woken to forget it
                continue
            borrowed = self._grant(caller)
            turn.set_result((self._free.popleft(), borrowed))

    def _next_caller(self) -> str | None:
        for caller in self._queues:
            if self._within_share(caller):
                return caller
        if len(self._queues) == 1:  # one caller waits, alone: its next turn may borrow
            caller, queue = next(iter(self._queues.items()))
            if queue[0] in self._borrowers:
                return caller
        return None

    def _within_share(self, caller: str) -> bool:
        return not caller or self._held[caller] < self.share
