"""Plain references (`trigger.body.n`, `nodes.shape`) resolved by dictionary lookups, not JSONata.

Most template expressions are a dotted path to a value. JSONata evaluates those through its
whole machinery (frames, sequences, singleton unwrapping), which is most of a step's CPU. A
path is only answered here while JSONata's answer is certain to be the plain lookup: every
step before the last lands on an object (a dict). A list before the last step (JSONata maps
the rest of the path over it and flattens) makes the lookup decline, and the caller
evaluates the expression with JSONata as before. `tests/expressions/test_expression_paths.py`
checks the two agree on random paths and contexts.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# JSONata names that are not field references: literals, operators and the lambda keyword.
_RESERVED = frozenset({"and", "or", "in", "true", "false", "null", "function"})
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PATH = re.compile(rf"{_NAME}(?:\.{_NAME})*")

DECLINED = object()  # "not a plain lookup": evaluate with JSONata instead


MAX_PATH_CHARS = 256


def plain_path(source: str) -> tuple[str, ...] | None:
    """The field names of `source` if it is a plain dotted path, else None."""
    return _plain_path(source) if len(source) <= MAX_PATH_CHARS else None


@lru_cache(maxsize=4096)
def _plain_path(source: str) -> tuple[str, ...] | None:
    if not _PATH.fullmatch(source):
        return None
    names = tuple(source.split("."))
    if any(name in _RESERVED for name in names):
        return None
    return names


def lookup(names: tuple[str, ...], context: Any) -> Any:
    """What JSONata would give for the path `names` on `context`, or DECLINED if unsure.

    The value is returned as it is in the context (the caller converts it as it converts
    JSONata's results); a missing field, or a field of a non-object, is None (undefined).
    """
    value = context
    for name in names:
        if isinstance(value, dict):
            value = value.get(name)
        elif isinstance(value, list | tuple):
            return DECLINED  # JSONata maps the rest of the path over the items
        else:
            return None  # a field of a string, number, boolean or null is undefined
    return DECLINED if isinstance(value, tuple) else value
