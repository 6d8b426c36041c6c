"""The one clock: every timestamp Weft writes comes from `now()`, which tests can freeze."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None

# The fault suite jumps this clock forward and back in running processes (an NTP step, a VM
# resumed after hours) to prove schedules, delays and leases survive it. A process whose
# environment names WEFT_CLOCK_OFFSET_FILE adds the seconds written in that file to the wall
# clock, read at every call so that all processes jump together, as a real clock's readers
# do. The variable itself is read once, at start (a lookup in os.environ costs more than the rest
# of now()); unset, as in production, the offset costs nothing.
OFFSET_FILE_VARIABLE = "WEFT_CLOCK_OFFSET_FILE"
_offset = timedelta(0)
offset_file: str | None = os.environ.get(OFFSET_FILE_VARIABLE) or None


def read_offset_variable() -> None:
    """Read WEFT_CLOCK_OFFSET_FILE again: for a process whose environment changed after it
    imported Weft (the test suite's fork server sets each worker's environment after fork)."""
    global offset_file
    offset_file = os.environ.get(OFFSET_FILE_VARIABLE) or None


def _wall_clock_offset() -> timedelta:
    global _offset
    path = offset_file
    if not path:
        return timedelta(0)
    try:
        with open(path) as written:
            _offset = timedelta(seconds=float(written.read().strip() or 0))
    except (OSError, ValueError):
        pass  # being replaced: keep the last offset read
    return _offset


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The last millisecond read and its datetime (one tuple: threads read it too): a busy process
# asks many times per millisecond (every step's start and end), and building the datetime cost
# more than reading the clock.
_last: tuple[int, datetime] = (-1, _EPOCH)


def now() -> datetime:
    """Current time, timezone-aware UTC, millisecond precision (what JSON dates carry)."""
    global _last
    if _frozen is not None:
        current = _frozen
    else:
        millisecond, moment = _last
        reading = time.time_ns() // 1_000_000
        if reading != millisecond:
            moment = _EPOCH + timedelta(milliseconds=reading)
            _last = (reading, moment)
        if not offset_file:
            return moment
        current = moment + _wall_clock_offset()
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def freeze(moment: datetime | None) -> None:
    """Pin `now()` to `moment` (None unfreezes); for tests."""
    global _frozen
    _frozen = moment


def isoformat(moment: datetime) -> str:
    """Refold's date format: ISO 8601 UTC with milliseconds and a `Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (a trailing `Z` included) into aware UTC."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
