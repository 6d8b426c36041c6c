"""Stored JSON as the API returns it: safe to serialise whatever a run managed to store.

A node's output (a code node's above all) or a row written before the door checked nesting can
be nested deeper than the response serialiser allows; one such row must not make a whole
execution list answer 500. Values nested past `MAX_READ_DEPTH` are cut there, with a marker.
"""

from __future__ import annotations

from typing import Any

MAX_READ_DEPTH = 128
CUT_MARKER = f"[nested deeper than {MAX_READ_DEPTH} levels: not shown]"


def _deeper_than(value: Any, levels: int) -> bool:
    if isinstance(value, dict):
        return levels <= 0 or any(_deeper_than(item, levels - 1) for item in value.values())
    if isinstance(value, list):
        return levels <= 0 or any(_deeper_than(item, levels - 1) for item in value)
    return False


def _cut(value: Any, levels: int) -> Any:
    if not isinstance(value, dict | list):
        return value
    if levels <= 0:
        return CUT_MARKER
    if isinstance(value, dict):
        return {key: _cut(item, levels - 1) for key, item in value.items()}
    return [_cut(item, levels - 1) for item in value]


def bounded(value: Any) -> Any:
    """`value` itself, or a copy cut at `MAX_READ_DEPTH` levels if it nests deeper."""
    return _cut(value, MAX_READ_DEPTH) if _deeper_than(value, MAX_READ_DEPTH) else value
