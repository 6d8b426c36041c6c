"""What every request must satisfy before any handler sees it: values both databases can store.

PostgreSQL refuses NUL in text and jsonb, and JSON has no NaN or Infinity (Python's parser
accepts them, and SQLite would store text that no JSON reader reads back). Very deep nesting
breaks recursive readers and serialisers long after it was accepted. So all three are refused
at the door, the same on both databases, with an envelope that says what was wrong.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

DEFAULT_MAX_JSON_DEPTH = 64

_NON_FINITE = (b"NaN", b"Infinity")
# `\ud800`-`\udfff`: half of a surrogate pair, fine in pairs (an emoji), not alone.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# For the nesting depth without parsing: what is not a bracket or a quote goes first.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'{}[]"'))


def _reject_constant(name: str) -> None:
    raise ValueError(name)


def body_problem(body: bytes, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> str | None:
    """Why `body` cannot be accepted, or None. Non-JSON bodies are only checked for NUL."""
    if b"\x00" in body:
        return "Request body contains a NUL byte, which Weft cannot store"
    too_deep = f"Request body nests deeper than {max_depth} levels"
    may_hold_nul = b"\\u0000" in body
    may_hold_surrogate = _SURROGATE_ESCAPE.search(body) is not None
    # Cheap tests first: only a body that could break a rule is parsed here.
    may_be_deep = body.count(b"[") + body.count(b"{") > max_depth and not _shallow(body, max_depth)
    suspicious = may_hold_nul or may_hold_surrogate or may_be_deep
    if not (suspicious or any(token in body for token in _NON_FINITE)):
        return None
    try:
        parsed = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        return too_deep
    except ValueError as error:
        if str(error) in ("NaN", "Infinity", "-Infinity"):
            return f"Request body contains {error}, which is not JSON"
        return None  # not JSON at all: the handler says so, or takes it as text
    depth, holds_nul, holds_surrogate = _shape(parsed, max_depth)
    if depth > max_depth:
        return too_deep
    if holds_nul:
        return "Request body contains a NUL character (\\u0000), which Weft cannot store"
    if holds_surrogate:
        return "Request body contains an unpaired surrogate (\\ud800-\\udfff), which is not text"
    return None


def _shallow(body: bytes, max_depth: int) -> bool:
    """Whether `body`, read as JSON, certainly nests at most `max_depth` levels, in C-speed
    byte passes: a 50-record payload costs microseconds, where parsing and walking it cost a
    tenth of its run. False may also mean "not sure": the caller then parses."""
    # Escaped backslashes, then escaped quotes, go first (a backslash only appears in strings):
    # then every `"` opens or closes a string. Two adjacent quotes hold no bracket between
    # them, inside a string or out; what lies between the quotes left is string.
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = body.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in brackets:
        brackets = b"".join(brackets.split(b'"')[::2])
    # Each round removes the innermost `[]` pairs, then the `{}` pairs: one or two levels.
    for _ in range(max_depth // 2):
        if not brackets:
            return True
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return not brackets


def _shape(value: object, max_depth: int) -> tuple[int, bool, bool]:
    """The nesting depth of `value` (stopping past `max_depth`), whether a string holds NUL and
    whether one holds an unpaired surrogate (PostgreSQL cannot encode it)."""
    deepest, holds_nul, holds_surrogate = 0, False, False
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            holds_nul = holds_nul or "\x00" in item
            holds_surrogate = holds_surrogate or not _encodable(item)
        elif isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > max_depth:
                return deepest, holds_nul, holds_surrogate
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth) for child in children)
    return deepest, holds_nul, holds_surrogate


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def target_problem(path: str, query_string: bytes) -> str | None:
    """Why the request's path or query cannot be accepted (NUL in either), or None."""
    if "\x00" in path:
        return "Request path contains a NUL character, which Weft cannot store"
    if b"\x00" in query_string or b"\x00" in unquote_to_bytes(query_string):
        return "Query string contains a NUL character, which Weft cannot store"
    return None
