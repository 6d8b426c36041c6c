"""The helper process that evaluates JSONata with jlens (Rust); see `native.py`.

Run as a script (`python native_worker.py`), never imported by Weft: it loads only jlens and
orjson, so it starts in a fraction of a second. It reads requests from stdin and answers on
stdout, one at a time, each a 4-byte big-endian length and a body:
  request   header (JSON: sources, read, steps, depth, string, array, wall_s, data_cap) then
            the context's JSON, parsed once for all the sources (`read`: what they read of it)
  answer    JSON: a list, per source {"ok": its value} or {"error": code, "message": text}
Before each source it writes the count of sources begun so far into the shared memory `argv[1]`
names (a file descriptor), so the parent counts each source's CPU and memory on its own.
RLIMIT_DATA is what the process held when it started plus `data_cap` bytes and four times the
largest context yet (raised when a larger one comes), so an allocation past it fails at once
(jlens aborts the process; the parent sees it die) even when memory grows faster than the
parent's watchdog reads it. stdin closing ends the process.
"""

from __future__ import annotations

import mmap
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
PROGRESS = struct.Struct("=Q")


def _read(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return bytes(data)


def _message(stream: Any) -> bytes:
    (size,) = LENGTH.unpack(_read(stream, LENGTH.size))
    return _read(stream, size)


def _carried(result: dict[str, Any]) -> dict[str, Any]:
    """`result`, or the error of a value JSON cannot carry (a lone surrogate)."""
    try:
        orjson.dumps(result)
    except TypeError as error:
        return _failure(error)
    return result


def _answer(stream: Any, body: Any) -> None:
    try:
        data = orjson.dumps(body)
    except TypeError:
        data = orjson.dumps([_carried(result) for result in body])
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


def _failure(error: BaseException) -> dict[str, Any]:
    if isinstance(error, KeyboardInterrupt | SystemExit):
        raise error
    return {"error": getattr(error, "code", None), "message": str(error)}


class _Compiled(OrderedDict[str, jlens.Expression]):
    def get_or_compile(self, source: str) -> jlens.Expression:
        expression = self.get(source)
        if expression is None:
            expression = self[source] = jlens.Expression(source)
            if len(self) > CACHE_SIZE:
                self.popitem(last=False)
        return expression


def _evaluate(
    compiled: _Compiled, source: str, document: Any, header: dict[str, Any]
) -> dict[str, Any]:
    try:
        value = compiled.get_or_compile(source).evaluate_document(
            document,
            None,
            timeout=header["wall_s"],
            max_steps=header["steps"],
            max_depth=header["depth"],
            max_string_length=header["string"],
            max_array_length=header["array"],
        )
    except BaseException as error:  # JlensError, and a Rust panic (a BaseException)
        return _failure(error)
    return {"ok": value}


def serve(requests: Any, answers: Any, progress: Any) -> None:
    """Answer requests until stdin closes."""
    compiled = _Compiled()
    held_at_start = _held()
    capped_at = 0
    begun = 0
    _answer(answers, {"ready": True})
    while True:
        try:
            header = orjson.loads(_message(requests))
            context = _message(requests)
        except EOFError:
            return
        sources = header["sources"]
        limit = held_at_start + header["data_cap"] + 4 * len(context)
        if limit > capped_at:
            _cap_data(limit)
            capped_at = limit
        try:
            document = jlens.Document.from_json(context.decode(), header["read"])
        except BaseException as error:
            failure = _failure(error)
            _answer(answers, [failure] * len(sources))
            continue
        results = []
        for source in sources:
            begun += 1
            PROGRESS.pack_into(progress, 0, begun)
            results.append(_evaluate(compiled, source, document, header))
        _answer(answers, results)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer, mmap.mmap(int(sys.argv[1]), PROGRESS.size))
