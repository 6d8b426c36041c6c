"""Adding runs' usage to their usage_daily rows: the upsert, and increments summed per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from weft.store.dialects import Dialect
from weft.store.tables import USAGE_COUNTS, USAGE_KEY, UsageDaily


def summed_usage(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs' usage increments summed per usage_daily row, in key order (one lock order)."""
    sums: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[c] for c in USAGE_KEY)
        total = sums.setdefault(key, {**row, **dict.fromkeys(USAGE_COUNTS, 0)})
        for count in USAGE_COUNTS:
            total[count] += row[count]
    return [sums[key] for key in sorted(sums)]


_BUILT: dict[str, Any] = {}


def add_usage(dialect: Dialect) -> Any:
    """The upsert adding an increment to its usage_daily row (built once per database: a
    statement's cache key is memoised on the object)."""
    if dialect.name not in _BUILT:
        table = UsageDaily.__table__
        statement = dialect.insert(table)
        _BUILT[dialect.name] = statement.on_conflict_do_update(
            index_elements=list(USAGE_KEY),
            set_={c: table.c[c] + statement.excluded[c] for c in USAGE_COUNTS},
        )
    return _BUILT[dialect.name]
