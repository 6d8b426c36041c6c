"""What a run row shows to tell runs apart: how it started and a short, redacted payload line.

A run's stored `trigger` names the code path that queued it (`execute`, `webhook`, `test`, ...);
people filter by the kind of start, so the list maps each stored value to one kind and back.
"""

from __future__ import annotations

import json
from typing import Any

from weft.redaction import redact_value

# Stored trigger -> the kind a person filters by. `execute` is the API (a manual start node is
# started through it too); everything else is its own kind.
TRIGGER_KINDS: dict[str, str] = {
    "execute": "api",
    "webhook": "webhook",
    "schedule": "schedule",
    "event": "event",
    "test": "test",
    "app": "app",
    "workflow": "workflow",
    "rerun": "rerun",
}
KINDS: tuple[str, ...] = tuple(dict.fromkeys(TRIGGER_KINDS.values()))

SUMMARY_CHARS = 120
_SUMMARY_KEYS = 4
_VALUE_CHARS = 40
_REQUEST_KEYS = frozenset({"body", "headers", "method"})


def trigger_kind(trigger: str) -> str:
    """The kind of start a stored trigger value means (unknown values pass through)."""
    return TRIGGER_KINDS.get(trigger, trigger)


def triggers_of(kinds: list[str]) -> list[str]:
    """The stored trigger values that make up `kinds`."""
    wanted = set(kinds)
    return [trigger for trigger, kind in TRIGGER_KINDS.items() if kind in wanted]


def payload_summary(payload: Any) -> str:
    """The payload's first keys (in key order) and values on one line, credentials hidden, at
    most 120 chars.

    A webhook's payload (a delivery, or a test of a webhook workflow) is the whole request: its
    body is what tells deliveries apart. Only the first few entries are looked at, so a large
    payload costs no more than a small one.
    """
    if isinstance(payload, dict) and payload.keys() >= _REQUEST_KEYS:
        payload = payload["body"]
    if payload is None:
        return ""
    if isinstance(payload, dict):
        # In key order: PostgreSQL's jsonb does not keep the order keys were sent in, so the
        # same payload reads the same on both databases.
        entries = sorted(payload.items(), key=lambda item: str(item[0]))
        shown = redact_value(dict(entries[:_SUMMARY_KEYS]))
        parts = [f"{key}: {_short(value)}" for key, value in shown.items()]
        if len(entries) > _SUMMARY_KEYS:
            parts.append(f"+{len(entries) - _SUMMARY_KEYS} more")
        text = ", ".join(parts)
    else:
        text = _short(redact_value(payload) if isinstance(payload, list) else payload)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _short(value: Any) -> str:
    """One value as a few characters: nested objects and lists by their size."""
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}" if value else "{}"
    if isinstance(value, list):
        return f"[{len(value)} items]" if value else "[]"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"
