"""Ids: 24 hex characters like Refold's (Mongo ObjectId) `_id`s, sortable by creation time."""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

_counter = itertools.count(int.from_bytes(os.urandom(2), "big"))
_lock = threading.Lock()
_random, _taken = b"", 0
_ID_RE = re.compile(r"^[0-9a-f]{24}$")


def new_id() -> str:
    """A fresh id: 6 bytes of milliseconds, 2 of a per-process counter, 4 random.

    The leading milliseconds make ids sort by creation time (list order ties break on `_id`);
    the counter keeps ids from one process in order within the same millisecond. The random
    bytes come from os.urandom in blocks (a system call per id cost more than the rest).
    """
    global _random, _taken
    with _lock:
        count = next(_counter) & 0xFFFF
        if _taken >= len(_random):
            _random, _taken = os.urandom(4096), 0
        random = _random[_taken : _taken + 4]
        _taken += 4
    millis = time.time_ns() // 1_000_000 & 0xFFFFFFFFFFFF
    return (millis.to_bytes(6, "big") + count.to_bytes(2, "big") + random).hex()


def is_id(value: str) -> bool:
    """Whether `value` has the shape of a Weft id."""
    return bool(_ID_RE.match(value))


def _forget_after_fork() -> None:
    # A forked child must not repeat its parent's random bytes (or counter).
    global _random, _taken, _counter
    _random, _taken = b"", 0
    _counter = itertools.count(int.from_bytes(os.urandom(2), "big"))


os.register_at_fork(after_in_child=_forget_after_fork)
