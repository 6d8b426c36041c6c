"""Field-level differences between two JSON values: what a step answered before and now.

Paths are JSONPath-like (`$.user.name`, `$.items[2]`). Objects are compared key by key and
lists item by item, so one changed field is one row, not the whole output. The list is
bounded: a step whose output changed everywhere reports its first rows and how many in all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_ROWS = 50  # rows kept per step; the count says how many there were
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: `changed` (old → new), `added` (new only) or `removed`."""

    path: str
    kind: str
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        """As the API shows it (`old` is null when added, `new` when removed)."""
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _PLAIN_KEY.match(key) else f"{path}[{key!r}]"


def _same(old: Any, new: Any) -> bool:
    # In Python True == 1, but a step that answered true now answers 1: that is a change.
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return old == new  # 1 and 1.0 are one JSON number
    return type(old) is type(new) and old == new


def field_changes(old: Any, new: Any, path: str = "$") -> list[FieldChange]:
    """Every field that differs between `old` and `new`, in document order."""
    if isinstance(old, dict) and isinstance(new, dict):
        rows: list[FieldChange] = []
        for key in old:
            where = _child(path, str(key))
            if key not in new:
                rows.append(FieldChange(where, "removed", old=old[key]))
            else:
                rows += field_changes(old[key], new[key], where)
        rows += [
            FieldChange(_child(path, str(key)), "added", new=new[key])
            for key in new
            if key not in old
        ]
        return rows
    if isinstance(old, list) and isinstance(new, list):
        rows = []
        for index in range(max(len(old), len(new))):
            where = f"{path}[{index}]"
            if index >= len(new):
                rows.append(FieldChange(where, "removed", old=old[index]))
            elif index >= len(old):
                rows.append(FieldChange(where, "added", new=new[index]))
            else:
                rows += field_changes(old[index], new[index], where)
        return rows
    return [] if _same(old, new) else [FieldChange(path, "changed", old=old, new=new)]
