"""Which items of one poll are new, and the state the next poll starts from (pure: no I/O).

A polling trigger declares a dedupe key, a cursor, or both (apps.trigger_model.PollingTrigger):
- dedupe key only: an item is new when its key is not among the keys seen lately (`seen`,
  bounded to `SEEN_LIMIT`, newest first);
- cursor only: an item is new when its cursor value is above the largest seen so far;
- both: above the cursor, or equal to it with a key not seen (items sharing a timestamp).
The first poll only records what is there (the baseline): a trigger fires for items that
appear after the workflow went live, never for the app's whole history.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from weft.apps.trigger_model import PollingTrigger

SEEN_LIMIT = 500


@dataclass
class PollState:
    """What a workflow's poller remembers between polls (kept as JSON in `app_triggers`)."""

    primed: bool = False
    cursor: Any = None
    seen: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NewItem:
    """One item to start a run for, and the key that makes that run unique."""

    key: str
    item: Any


def dig(document: Any, path: str | None) -> Any:
    """The value at a dotted path (`data.items`, `properties.id`), or None where it stops."""
    if not path or path == "$":  # `$`: the document itself, as actions' `items` say it
        return document
    value = document
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def listed_items(trigger: PollingTrigger, body: Any) -> list[Any]:
    """The items a poll's response lists; ValueError when the path holds no list."""
    items = dig(body, trigger.items)
    if not isinstance(items, list):
        raise ValueError(f"the response holds no list at {trigger.items or 'its top level'!r}")
    return items


def _above(value: Any, cursor: Any) -> int:
    """-1, 0 or 1 as `value` is below, equal to or above `cursor` (numbers as numbers)."""
    if isinstance(value, int | float) and isinstance(cursor, int | float):
        return (value > cursor) - (value < cursor)
    left, right = str(value), str(cursor)
    return (left > right) - (left < right)


def item_key(trigger: PollingTrigger, item: Any) -> str:
    """An item's identity: its dedupe key, else its cursor value, else a digest of it."""
    value = dig(item, trigger.dedupe_key or trigger.cursor)
    if value is None:
        value = hashlib.sha256(repr(item).encode()).hexdigest()
    return str(value)


def new_items(
    trigger: PollingTrigger, items: list[Any], state: PollState
) -> tuple[list[NewItem], PollState]:
    """The new items (oldest first when a cursor orders them) and the state after them."""
    seen = set(state.seen)
    found: list[NewItem] = []
    for item in items:
        key = item_key(trigger, item)
        if trigger.dedupe_key is not None and key in seen:
            continue
        if trigger.cursor is not None and state.cursor is not None:
            value = dig(item, trigger.cursor)
            order = -1 if value is None else _above(value, state.cursor)
            if order < 0 or (order == 0 and trigger.dedupe_key is None):
                continue
        seen.add(key)
        found.append(NewItem(key, item))
    if trigger.cursor is not None:
        found.sort(key=lambda new: _sort_key(dig(new.item, trigger.cursor)))
    cursor = state.cursor
    for item in items:
        value = dig(item, trigger.cursor) if trigger.cursor else None
        if value is not None and (cursor is None or _above(value, cursor) > 0):
            cursor = value
    keys = [item_key(trigger, item) for item in items] if trigger.dedupe_key else []
    # This poll's keys first: a list action answers its newest page, which holds what the
    # next poll will see again; older keys are dropped past the bound.
    recent = list(dict.fromkeys([*keys, *state.seen]))[:SEEN_LIMIT]
    after = PollState(primed=True, cursor=cursor, seen=recent)
    if not state.primed:
        return [], after  # the baseline: what is there already is not new
    return found, after


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value))
