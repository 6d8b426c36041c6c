"""The one clock: every timestamp Weft writes comes from `now()`, which tests can freeze."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None

# The fault suite jumps this clock forward and back in running processes (an NTP step, a VM
# resumed after hours) to prove schedules, delays and leases survive it. A process whose
# environment names WEFT_CLOCK_OFFSET_FILE adds the seconds written in that file to the wall
# clock, re-reading it at most every 0.1 s; unset, as in production, it costs one lookup.
OFFSET_FILE_VARIABLE = "WEFT_CLOCK_OFFSET_FILE"
_offset = timedelta(0)
_offset_read_at = float("-inf")  # time.monotonic() of the last read


def _wall_clock_offset() -> timedelta:
    global _offset, _offset_read_at
    path = os.environ.get(OFFSET_FILE_VARIABLE)
    if not path:
        return timedelta(0)
    moment = time.monotonic()
    if moment - _offset_read_at >= 0.1:
        _offset_read_at = moment
        try:
            with open(path) as offset_file:
                _offset = timedelta(seconds=float(offset_file.read().strip() or 0))
        except (OSError, ValueError):
            pass  # being rewritten: keep the last offset read
    return _offset


def now() -> datetime:
    """Current time, timezone-aware UTC, millisecond precision (what JSON dates carry)."""
    current = _frozen or datetime.now(UTC) + _wall_clock_offset()
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
