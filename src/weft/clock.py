"""The one clock: every timestamp Weft writes comes from `now()`, which tests can freeze."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware UTC, millisecond precision (what JSON dates carry)."""
    current = _frozen or datetime.now(UTC)
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
