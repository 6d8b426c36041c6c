"""The helper process that evaluates JSONata with jlens (Rust); see `native.py`.

Run as a script (`python native_worker.py`), never imported by Weft: it loads only jlens and
orjson, so it starts in a fraction of a second. It reads requests from stdin and answers on
stdout, one at a time, each a 4-byte big-endian length and a body:
  request   header (JSON: source, steps, depth, string, array, wall_s) then the context's JSON
  answer    JSON: {"ok": result JSON text or null} or {"error": code, "message": text}
RLIMIT_DATA is what the process held when it started plus `data_cap` bytes and four times the
largest context yet (raised when a larger one comes), so an allocation past it fails at once
(jlens aborts the process; the parent sees it die) even when memory grows faster than the
parent's watchdog reads it. stdin closing ends the process.
"""

from __future__ import annotations

import os
import resource
import struct
import sys
from collections import OrderedDict
from typing import Any

import jlens
import orjson

CACHE_SIZE = 512
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
LENGTH = struct.Struct(">I")


def _read(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return bytes(data)


def _message(stream: Any) -> bytes:
    (size,) = LENGTH.unpack(_read(stream, LENGTH.size))
    return _read(stream, size)


def _answer(stream: Any, body: dict[str, Any]) -> None:
    data = orjson.dumps(body)
    stream.write(LENGTH.pack(len(data)) + data)
    stream.flush()


def _held() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[5]) * PAGE_SIZE  # data + stack


def _cap_data(limit: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def serve(requests: Any, answers: Any) -> None:
    """Answer requests until stdin closes."""
    compiled: OrderedDict[str, jlens.Expression] = OrderedDict()
    held_at_start = _held()
    capped_at = 0
    _answer(answers, {"ready": True})
    while True:
        try:
            header = orjson.loads(_message(requests))
            context = _message(requests)
        except EOFError:
            return
        source = header["source"]
        try:
            expression = compiled.get(source)
            if expression is None:
                expression = compiled[source] = jlens.Expression(source)
                if len(compiled) > CACHE_SIZE:
                    compiled.popitem(last=False)
            limit = held_at_start + header["data_cap"] + 4 * len(context)
            if limit > capped_at:
                _cap_data(limit)
                capped_at = limit
            result = expression.evaluate_json(
                context.decode(),
                None,
                timeout=header["wall_s"],
                max_steps=header["steps"],
                max_depth=header["depth"],
                max_string_length=header["string"],
                max_array_length=header["array"],
            )
        except BaseException as error:  # JlensError, and a Rust panic (a BaseException)
            if isinstance(error, KeyboardInterrupt | SystemExit):
                raise
            _answer(answers, {"error": getattr(error, "code", None), "message": str(error)})
            continue
        _answer(answers, {"ok": result})


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
