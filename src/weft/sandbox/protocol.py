"""The pipe protocol between the pool and its workers: length-prefixed frames, JSON header + body.

A frame is `<header length: u32><body length: u32><header JSON><body bytes>`. The body carries
the input JSON (request) or the output JSON (reply) as raw bytes, so a 10 MiB payload is never
escaped into another JSON document.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import orjson

PREFIX = struct.Struct("<II")

# Reply statuses.
OK = "ok"
ERROR = "error"  # a JS exception or syntax error: `message`, `line`
INVALID_OUTPUT = "invalid_output"  # `message`
TIMEOUT = "timeout"
MEMORY = "memory"
INTERNAL = "internal"  # a fault in the worker itself: `message`; the worker retires
READY = "ready"  # first frame a worker sends once V8 is up

# A call's `timeout_ms` is CPU time of the worker running it (weft.sandbox.worker), so that a
# busy machine, which stretches the call's wall time, fails no code that passes alone. Code that
# runs without computing (blocked, or starved of every core) is stopped on the wall clock after
# this many times its limit, or WALL_BACKSTOP_MIN_S more, whichever is longer.
WALL_BACKSTOP_FACTOR = 10
WALL_BACKSTOP_MIN_S = 5.0


def wall_backstop_s(limit_s: float) -> float:
    """The wall-clock time after which a call limited to `limit_s` of CPU is stopped anyway."""
    return max(limit_s * WALL_BACKSTOP_FACTOR, limit_s + WALL_BACKSTOP_MIN_S)


def encode_frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    """One frame: the prefix, the compact JSON header, then the body."""
    try:
        head = orjson.dumps(header)  # a tenth of json.dumps' CPU, on every call's both sides
    except TypeError:  # a lone surrogate in the source, which only json.dumps escapes
        head = json.dumps(header, separators=(",", ":")).encode()
    return PREFIX.pack(len(head), len(body)) + head + body


def decode_header(head: bytes) -> dict[str, Any]:
    """A frame's header, as json.loads reads it (orjson refuses an escaped lone surrogate)."""
    try:
        return orjson.loads(head)  # type: ignore[no-any-return]
    except orjson.JSONDecodeError:
        return json.loads(head)  # type: ignore[no-any-return]


def js_string(text: str) -> str:
    """`text` as a JavaScript string literal (JSON's, which ES2019 made a subset of JS)."""
    try:
        return orjson.dumps(text).decode()
    except TypeError:  # a lone surrogate: json.dumps writes it as an escape
        return json.dumps(text)


def decode_prefix(prefix: bytes) -> tuple[int, int]:
    """Header and body lengths from a frame's 8-byte prefix."""
    header_length, body_length = PREFIX.unpack(prefix)
    return header_length, body_length
