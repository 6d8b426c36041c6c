"""Ids: 24 hex characters like Refold's (Mongo ObjectId) `_id`s, sortable by creation time."""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

_counter = itertools.count(int.from_bytes(os.urandom(2), "big"))
_lock = threading.Lock()
_ID_RE = re.compile(r"^[0-9a-f]{24}$")


def new_id() -> str:
    """A fresh id: 6 bytes of milliseconds, 2 of a per-process counter, 4 random.

    The leading milliseconds make ids sort by creation time (list order ties break on `_id`);
    the counter keeps ids from one process in order within the same millisecond.
    """
    with _lock:
        count = next(_counter) & 0xFFFF
    millis = int(time.time() * 1000) & 0xFFFFFFFFFFFF
    return f"{millis:012x}{count:04x}{os.urandom(4).hex()}"


def is_id(value: str) -> bool:
    """Whether `value` has the shape of a Weft id."""
    return bool(_ID_RE.match(value))
