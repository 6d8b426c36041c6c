"""The JSON every JSON column is written and read with, the same on SQLite and PostgreSQL.

A run produces strings no database keeps: a lone UTF-16 surrogate (`"\\ud800"` from a JSONata
escape, a code node's `JSON.stringify`, any outside answer) and NUL. PostgreSQL's jsonb refuses
both, so the run's commit failed; SQLite kept the escape, and every later read of the account's
history failed to encode it as UTF-8. So each is replaced by U+FFFD when a value is written, in
keys as in values (keys that become equal keep the last value), and a valid pair of surrogates
becomes its one character. Rows written before this are repaired the same way as they are read.

Writing is orjson's (a seventh of json.dumps' CPU): it refuses surrogates and escapes NUL as
`\\u0000`, so clean values, nearly all of them, cost one extra substring search and nothing
else; only a value that fails that test is walked.
"""

from __future__ import annotations

import json
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
_ODD = re.compile("[\x00\ud800-\udfff]")
# In JSON text: an escaped NUL, or an escaped surrogate (a pair's halves too, which json.dumps
# writes so; the walk then finds nothing to replace).
_ODD_ESCAPE = re.compile(r"\\u(0000|[dD][89a-fA-F])")


def dump_json(value: Any) -> str:
    """`value` as JSON text, its odd strings replaced (the columns' serializer)."""
    try:
        text = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:  # a surrogate, or a value only json.dumps writes (an integer past 64 bits)
        return _dump_valid(value)
    if b"\\u0000" in text:
        return _dump_valid(value)
    return text.decode()


def _dump_valid(value: Any) -> str:
    valid = _valid(value)
    try:
        return orjson.dumps(valid, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return json.dumps(valid)


def load_json(text: str) -> Any:
    """The value of JSON `text`, odd strings replaced (the columns' deserializer): rows written
    before odd strings were replaced on writing read back as they would be written now."""
    value = json.loads(text)
    return _valid(value) if _ODD_ESCAPE.search(text) else value


def valid_json(value: Any) -> Any:
    """`value` with every string (dict keys too) made valid UTF-8 without NUL: lone surrogates
    and NUL replaced by U+FFFD, a surrogate pair joined into its character. A value with none
    is returned as it is, found so at orjson's speed."""
    try:
        if b"\\u0000" not in orjson.dumps(value, option=_ORJSON_OPTIONS):
            return value
    except TypeError:
        pass
    return _valid(value)


def _valid(value: Any) -> Any:
    # Anything but a str, dict, list or tuple stays as it is.
    if isinstance(value, str):
        return _valid_str(value)
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
