"""Step data in API answers is capped, so a huge output cannot stall a browser or a client."""

from __future__ import annotations

import json
from typing import Any

STEP_DATA_CAP_BYTES = 64 * 1024


def capped(value: Any, cap: int = STEP_DATA_CAP_BYTES) -> Any:
    """`value`, or `{truncated: true, size, preview}` when its JSON is longer than `cap` bytes."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and len(value) * 4 <= cap:  # UTF-8 is at most 4 bytes a char
        return value
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    if len(encoded) <= cap:
        return value
    preview = encoded[:cap].decode("utf-8", errors="ignore")  # never split a character
    return {"truncated": True, "size": len(encoded), "preview": preview}
