"""The JSON every JSON column is written and read with, the same on SQLite and PostgreSQL.

A run produces strings no database keeps: a lone UTF-16 surrogate (`"\\ud800"` from a JSONata
escape, a code node's `JSON.stringify`, any outside answer) and NUL. PostgreSQL's jsonb refuses
both, so the run's commit failed; SQLite kept the escapes, and every later read of the account's
history failed to encode them as UTF-8. So each is replaced by U+FFFD when a value is written, in
keys as in values (keys that become equal keep the last value), and a valid pair of surrogates
becomes its one character. SQLite rows written before this are repaired the same way as they
are read.

NaN and the infinities, which Python's json reads (an outside API may send them) but JSON cannot
hold, are written as null, by orjson and by the walk alike.

Clean values, nearly all of them, are never walked. Writing is orjson's (a seventh of
json.dumps' CPU), which refuses surrogates: only then is the value walked. NUL it escapes as
`\\u0000`, which costs a search of the text (`dump_json`); PostgreSQL's hot batch skips even that
(`dump_json_for_jsonb`): jsonb refuses the escape, and its writer then writes the batch again
with valid values.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

# What orjson writes as json.dumps would, or hands back (TypeError) to be written by it.
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_NUL = b"\\u0000"  # how orjson writes NUL
_ODD = re.compile("[\x00\ud800-\udfff]")
# In JSON text: an escaped NUL or surrogate (a pair's halves too, as json.dumps writes them;
# the walk then finds nothing to replace).
_ODD_ESCAPE = re.compile(r"\\u(0000|[dD][89a-fA-F])")


def dump_json(value: Any) -> str:
    """`value` as JSON text, its odd strings replaced (the columns' serializer)."""
    try:
        text = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:  # a surrogate, or a value only json.dumps writes (an integer past 64 bits)
        return _dump_valid(value)
    return _dump_valid(value) if _NUL in text else text.decode()


def dump_json_for_jsonb(value: Any) -> str:
    """`dump_json` less the search for NUL, for writers that write again with `valid_json`
    values when PostgreSQL refuses a `\\u0000` (store.raw_postgres.NUL_REFUSED)."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return _dump_valid(value)


def _dump_valid(value: Any) -> str:
    valid = _valid(value)
    try:
        return orjson.dumps(valid, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return json.dumps(valid)


# A run of 19 digits may be an integer orjson reads as a float (past 64 bits): json.loads, as
# for anything else orjson refuses (a number past a double's range, odd escapes, UTF-16).
_LONG_NUMBER = re.compile(rb"\d{19}")


def parse_json(data: bytes | str) -> Any:
    """The value of JSON `data` exactly as json.loads reads it (raising its ValueError), at
    orjson's speed where they agree (a quarter of the CPU)."""
    raw = data.encode(errors="surrogatepass") if isinstance(data, str) else data
    if not _LONG_NUMBER.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def load_json(text: str) -> Any:
    """The value of JSON `text` with odd strings replaced, for SQLite, whose rows written before
    odd strings were replaced on writing hold their escapes (jsonb never held them)."""
    value = parse_json(text)
    return _valid(value) if _ODD_ESCAPE.search(text) else value


def as_stored(value: Any) -> Any:
    """`value` as a JSON column writes and reads it back: odd strings replaced, NaN and the
    infinities null, tuples lists, keys strings. For an answer sent outside as JSON text
    beside what the run's history shows (TypeError for what is not JSON at all)."""
    return parse_json(dump_json(value))


def reads_differently_stored(text: str) -> bool:
    """Whether JSON `text` may hold what a JSON column writes otherwise (`as_stored` would
    change): NaN or an infinity, an escaped NUL or UTF-16 surrogate. Cheap: searches only."""
    return "NaN" in text or "Infinity" in text or _ODD_ESCAPE.search(text) is not None


def valid_json(value: Any) -> Any:
    """`value` with every string (dict keys too) made valid UTF-8 without NUL: lone surrogates
    and NUL replaced by U+FFFD, a surrogate pair joined into its character. A value with none
    is returned as it is, found so at orjson's speed."""
    try:
        if _NUL not in orjson.dumps(value, option=_ORJSON_OPTIONS):
            return value
    except TypeError:
        pass
    return _valid(value)


def _valid(value: Any) -> Any:
    # Anything but a str, dict, list, tuple or non-finite float stays as it is.
    if isinstance(value, str):
        return _valid_str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # as orjson writes NaN and the infinities, which JSON cannot hold
    if isinstance(value, dict):
        return {_valid_str(k) if isinstance(k, str) else k: _valid(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_valid(item) for item in value]
    return value


def _valid_str(text: str) -> str:
    if not _ODD.search(text):
        return text
    text = text.replace("\x00", "\ufffd")
    # UTF-16 keeps surrogates as code units: decoding joins pairs and replaces lone ones.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
