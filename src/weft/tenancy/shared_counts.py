"""Rate-limit hit counts that several processes of one server share, in a small mapped file.

On SQLite the counts are kept in memory (a database write per request would queue every request
behind the single writer), which is only right while one process serves the API. The processes
of `weft serve --processes N` map this file instead: a fixed table of slots, each a key (a hash
of the bucket and its window), the moment the window ends and its hits, updated under an
exclusive `flock` (a few microseconds). A slot whose window ended is free again, so the file
never grows; if every slot a key may use is taken by a live window, the hit is counted in this
process's memory instead (the limit then holds per process, as before).
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import time
from pathlib import Path

_SLOT = struct.Struct("<QdQ")  # key, window end (epoch seconds), hits
SLOTS = 16384
PROBES = 64  # slots one key may use: its own and the next ones


class SharedCounts:
    """Hit counts per (bucket, window), shared by every process that opens the same file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = SLOTS * _SLOT.size
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)
        self._fd = fd
        self._map = mmap.mmap(fd, size)

    def increment(self, bucket: str, window: int, window_s: int) -> int | None:
        """Count one hit; the window's hits so far, or None when no slot was free."""
        key = _key(bucket, window)
        moment = time.time()
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            free = None
            for index in _probe(key):
                offset = index * _SLOT.size
                held, ends, hits = _SLOT.unpack_from(self._map, offset)
                if held == key and ends > moment:
                    _SLOT.pack_into(self._map, offset, key, ends, hits + 1)
                    return hits + 1
                if free is None and (held == 0 or ends <= moment):
                    free = offset
            if free is None:
                return None
            _SLOT.pack_into(self._map, free, key, float(window + window_s), 1)
            return 1
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def read(self, bucket: str, window: int) -> int:
        """The window's hits so far (0 when none is counted here)."""
        key = _key(bucket, window)
        moment = time.time()
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        try:
            for index in _probe(key):
                held, ends, hits = _SLOT.unpack_from(self._map, index * _SLOT.size)
                if held == key and ends > moment:
                    return int(hits)
            return 0
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Unmap and close the file."""
        self._map.close()
        os.close(self._fd)


def _key(bucket: str, window: int) -> int:
    digest = hashlib.blake2b(f"{bucket}@{window}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1  # 0 marks a slot never used


def _probe(key: int) -> range | list[int]:
    start = key % SLOTS
    return [(start + step) % SLOTS for step in range(PROBES)]
