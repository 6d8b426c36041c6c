"""Odd strings for tests: Hypothesis values holding lone surrogates and NUL, and the oracle of
what a run records for them (written independently of weft.store.json_codec)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ODD = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\ude00"]
odd_text = st.lists(
    st.one_of(st.characters(exclude_categories=()), st.sampled_from(ODD)), max_size=8
).map("".join)


def odd_json(max_int: int = 2**63 - 1) -> st.SearchStrategy[Any]:
    """JSON values whose strings (keys too) often hold lone surrogates and NUL."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-max_int, max_int)
        # Below 1e16: jsonb keeps numbers as numeric, so a float PostgreSQL prints without its
        # exponent may read back as an integer, a matter of numbers, not of strings.
        | st.floats(-1e15, 1e15, allow_nan=False)
        | odd_text,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
        max_leaves=12,
    )


def expected(value: Any) -> Any:
    """Each string with its surrogate pairs joined, lone surrogates and NUL as U+FFFD."""
    if isinstance(value, str):
        out, i = [], 0
        while i < len(value):
            code = ord(value[i])
            low = ord(value[i + 1]) if i + 1 < len(value) else 0
            if 0xD800 <= code <= 0xDBFF and 0xDC00 <= low <= 0xDFFF:
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                i += 2
                continue
            out.append("\ufffd" if code == 0 or 0xD800 <= code <= 0xDFFF else value[i])
            i += 1
        return "".join(out)
    if isinstance(value, dict):
        return {expected(k): expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expected(v) for v in value]
    return value
