"""Warm contexts: locked-down isolates a worker keeps between calls of the same key.

A key names one linked account, one scope (a workflow version) and one source (see
SandboxPool.run); the pool derives it, so two accounts never share a key. A context is reused
only after a call that succeeded, for at most MAX_CALLS calls and MAX_AGE_S seconds, and a
worker keeps at most CAPACITY of them (least recently used evicted first).

Code that cannot run locked down (it assigns a global, patches a builtin, uses sloppy-only
syntax) fails there with a TypeError, ReferenceError or SyntaxError; the worker then runs it
again in a fresh isolate, exactly as a cold call but within what is left of the call's time
limit, and remembers the key so that its next calls
go straight to fresh isolates.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from weft.sandbox.isolate import Isolate

CAPACITY = 16
MAX_CALLS = 1000
MAX_AGE_S = 300.0
# Keys remembered as needing a fresh isolate.
FRESH_ONLY_CAPACITY = 1024
# Errors the lockdown itself may cause (strict mode, frozen globals and builtins): only these
# are worth a second run in a fresh isolate.
LOCKDOWN_ERRORS = ("TypeError: ", "ReferenceError: ", "SyntaxError: ")


@dataclass
class WarmContext:
    """One locked-down isolate and how much it has served."""

    isolate: Isolate
    created: float = field(default_factory=time.monotonic)
    calls: int = 0

    def spent(self) -> bool:
        """Whether it has served its calls or outlived its age."""
        return self.calls >= MAX_CALLS or time.monotonic() - self.created > MAX_AGE_S


class WarmContexts:
    """A worker's warm contexts by key, least recently used first; a context in use is out."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._idle: OrderedDict[str, WarmContext] = OrderedDict()
        self._fresh_only: OrderedDict[str, None] = OrderedDict()

    def take(self, key: str) -> tuple[WarmContext | None, list[Isolate]]:
        """The key's idle context (if any and not spent), and spent isolates to dispose of."""
        context = self._idle.pop(key, None)
        if context is not None and context.spent():
            return None, [context.isolate]
        return context, []

    def keep(self, key: str, context: WarmContext) -> list[Isolate]:
        """Return a context after a successful call; the isolates to dispose of come back."""
        context.calls += 1
        if context.spent():
            return [context.isolate]
        self._idle[key] = context
        evicted: list[Isolate] = []
        while len(self._idle) > self.capacity:
            _, oldest = self._idle.popitem(last=False)
            evicted.append(oldest.isolate)
        return evicted

    def needs_fresh(self, key: str) -> bool:
        """Whether this key's code was seen to need a fresh isolate."""
        if key in self._fresh_only:
            self._fresh_only.move_to_end(key)
            return True
        return False

    def mark_fresh_only(self, key: str) -> None:
        """Send this key's next calls to fresh isolates."""
        self._fresh_only[key] = None
        while len(self._fresh_only) > FRESH_ONLY_CAPACITY:
            self._fresh_only.popitem(last=False)

    def __len__(self) -> int:
        return len(self._idle)


def lockdown_may_have_caused(tagged: str) -> bool:
    """Whether a warm call's failure (a prelude-tagged result) may be the lockdown's doing."""
    if tagged[:1] not in ("E", "S"):
        return False
    _, _, message = tagged[1:].partition("\n")
    return message.startswith(LOCKDOWN_ERRORS)
