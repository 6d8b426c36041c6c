"""The pipe protocol between the pool and its workers: length-prefixed frames, JSON header + body.

A frame is `<header length: u32><body length: u32><header JSON><body bytes>`. The body carries
the input JSON (request) or the output JSON (reply) as raw bytes, so a 10 MiB payload is never
escaped into another JSON document.
"""

from __future__ import annotations

import json
import struct
from typing import Any

PREFIX = struct.Struct("<II")

# Reply statuses.
OK = "ok"
ERROR = "error"  # a JS exception or syntax error: `message`, `line`
INVALID_OUTPUT = "invalid_output"  # `message`
TIMEOUT = "timeout"
MEMORY = "memory"
INTERNAL = "internal"  # a fault in the worker itself: `message`; the worker retires
READY = "ready"  # first frame a worker sends once V8 is up


def encode_frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    """One frame: the prefix, the compact JSON header, then the body."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return PREFIX.pack(len(head), len(body)) + head + body


def decode_prefix(prefix: bytes) -> tuple[int, int]:
    """Header and body lengths from a frame's 8-byte prefix."""
    header_length, body_length = PREFIX.unpack(prefix)
    return header_length, body_length
