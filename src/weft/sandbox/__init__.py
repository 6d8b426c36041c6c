"""The V8 sandbox that runs the `code` node's JavaScript, with time and memory limits and no I/O.

How a source is run (the rule authors rely on):
- The code sees one global, `input` (`{trigger, nodes, loop}`), a fresh copy for each call.
- If the source parses as a script, it runs as one and its output is the script's completion
  value, i.e. the value of the last expression statement evaluated: `input.a + 1`, or
  `const x = input.a;\\nx * 2`.
- Otherwise, if it fails to parse only because of a top-level `return`, it runs as the body of
  `function (input) { ... }` and its output is what it returns (nothing returned -> null):
  `const x = input.a; return x * 2`.
- The output must be a JSON value, produced with JSON.stringify's rules (undefined -> null,
  NaN -> null, nested functions dropped); a top-level function, symbol, BigInt or Promise, or a
  cycle, fails with CodeOutputInvalid.
- There is no I/O: no require, fetch, or timers (setTimeout throws), and nothing survives a
  call: each runs in a new V8 isolate, or, when the caller passes a `scope`, in a warm context
  kept for that caller, scope and source, locked down so that no call can leave state for the
  next (see weft.sandbox.warm and weft.sandbox.lockdown).

Limits: `timeout_ms` bounds the worker's CPU time spent on the run (parsing the input
included), so a busy machine fails no code that passes alone; code that computes nothing is
stopped at `protocol.wall_backstop_s`, and the pool kills a worker that has not answered
`deadline_margin_s` after that. `memory_mb` bounds the V8 heap, plus
3x the serialized input for the input itself. Each call runs in a worker process whose writable
memory (RLIMIT_DATA) is capped for the call's duration, so what the heap limit cannot see (one
huge allocation, typed-array buffers) ends in a memory error and, at worst, a replaced worker.

Failures are SandboxError subclasses: CodeTimeout, CodeMemoryExceeded, CodeError (a thrown
exception or syntax error, with its line when known, or an input over the size limit),
CodeOutputInvalid, and SandboxCrashed for a worker that died for another reason.
"""

from __future__ import annotations

import asyncio
from typing import Any

from weft.sandbox.errors import (
    CodeError,
    CodeMemoryExceeded,
    CodeOutputInvalid,
    CodeTimeout,
    SandboxCrashed,
    SandboxError,
)
from weft.sandbox.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, SandboxPool

__all__ = [
    "CodeError",
    "CodeMemoryExceeded",
    "CodeOutputInvalid",
    "CodeTimeout",
    "SandboxCrashed",
    "SandboxError",
    "SandboxPool",
    "close_default_pool",
    "default_pool",
    "run_code",
]

_default_pool: SandboxPool | None = None
_default_loop: asyncio.AbstractEventLoop | None = None


def default_pool() -> SandboxPool:
    """The process-wide pool, created on first use in the running event loop."""
    global _default_pool, _default_loop
    loop = asyncio.get_running_loop()
    if _default_pool is not None and _default_loop is not loop:
        # Its pipes belong to another (finished) loop and cannot be awaited from this one.
        _default_pool.kill_now()
        _default_pool = None
    if _default_pool is None:
        _default_pool, _default_loop = SandboxPool(), loop
    return _default_pool


async def run_code(
    source: str,
    input: Any,
    *,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> Any:
    """Run `source` on the default pool (see the module docstring for the rules)."""
    return await default_pool().run(source, input, timeout_ms=timeout_ms, memory_mb=memory_mb)


async def close_default_pool() -> None:
    """Shut the default pool's workers down (on application shutdown)."""
    global _default_pool, _default_loop
    pool, _default_pool, _default_loop = _default_pool, None, None
    if pool is not None:
        await pool.close()
