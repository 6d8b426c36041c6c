"""A V8 isolate (a mini-racer context) with the prelude: fresh for one call, or warm for many."""

from __future__ import annotations

import asyncio
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import cast

from py_mini_racer import JSFunction, JSParseException, MiniRacer, mini_racer

from weft.sandbox import protocol
from weft.sandbox.lockdown import LOCKDOWN_JS
from weft.sandbox.prelude import (
    PRELUDE_JS,
    SYNTAX_PROBE_LINE_OFFSET,
    SYNTAX_PROBE_PREFIX,
    SYNTAX_PROBE_SUFFIX,
    WARM_PRELUDE_JS,
)

# Inputs up to this size are passed to the prelude inside the eval'd text (see `run`).
LITERAL_INPUT_MAX_CHARS = 64 * 1024
# How long an isolate may take to answer a probe (a trivial or a parse-only eval).
PROBE_TIMEOUT_S = 0.1
PROBE_LINE = re.compile(r"^<anonymous>:(\d+): SyntaxError")


@dataclass
class Isolate:
    """A mini-racer context: its own V8 isolate, global object and builtins."""

    manager: AbstractContextManager[MiniRacer]
    racer: MiniRacer
    heap_limit: int = 0  # bytes, as last set (0: mini-racer's default, none)

    @classmethod
    def create(cls, loop: asyncio.AbstractEventLoop) -> Isolate:
        """Build an isolate whose callbacks run on `loop` (blocking: ~3 ms of CPU)."""
        return cls._build(loop, PRELUDE_JS)

    @classmethod
    def create_warm(cls, loop: asyncio.AbstractEventLoop) -> Isolate:
        """Build a locked-down isolate that can serve many calls (see weft.sandbox.lockdown)."""
        return cls._build(loop, WARM_PRELUDE_JS, LOCKDOWN_JS)

    @classmethod
    def _build(cls, loop: asyncio.AbstractEventLoop, *scripts: str) -> Isolate:
        manager = mini_racer(loop)
        racer = manager.__enter__()
        for script in scripts:
            racer.eval(script)
        # A first run compiles the prelude's functions, halving the latency of the real call.
        racer.eval('__weft_run("0", "0")')
        return cls(manager, racer)

    def set_heap_limit(self, limit: int) -> None:
        """V8's hard heap limit for the next call (a warm context's calls mostly share one)."""
        if limit != self.heap_limit:
            self.racer.set_hard_memory_limit(limit)
            self.heap_limit = limit

    def close(self) -> None:
        """Dispose of the isolate (terminating anything still running in it)."""
        self.manager.__exit__(None, None, None)

    async def run(self, source: str, input_text: str) -> str:
        """The prelude's tagged result for `source` (see weft.sandbox.prelude)."""
        if len(input_text) < LITERAL_INPUT_MAX_CHARS:
            # Small arguments travel as string literals: one eval is ~0.4 ms faster than a
            # mini-racer function call, which builds its argument array in several round trips.
            # A JSON string is a JS string literal (ES2019 allows raw U+2028/U+2029 in them).
            literal_input = protocol.js_string(input_text)
            return str(
                await self.racer.eval_cancelable(
                    f"__weft_run({protocol.js_string(source)}, {literal_input})"
                )
            )
        # Large inputs go as a real argument: V8 scans a 10 MB literal in ~115 ms, copies it in ~25.
        prelude = cast(JSFunction, await self.racer.eval_cancelable("__weft_run"))
        return str(await prelude.cancelable()(source, input_text))

    async def is_idle(self) -> bool:
        """Whether the isolate answers a trivial eval, i.e. nothing is still running in it."""
        try:
            await asyncio.wait_for(self.racer.eval_cancelable("0"), PROBE_TIMEOUT_S)
        except TimeoutError:
            return False
        return True

    async def syntax_error_line(self, source: str) -> int | None:
        """The line of the syntax error in `source`, found by parsing it without running it."""
        probe = SYNTAX_PROBE_PREFIX + source + SYNTAX_PROBE_SUFFIX
        try:
            await asyncio.wait_for(self.racer.eval_cancelable(probe), PROBE_TIMEOUT_S)
        except JSParseException as error:
            match = PROBE_LINE.search(str(error))
            line = int(match[1]) - SYNTAX_PROBE_LINE_OFFSET if match else 0
            # Past the source's end, the error is in the wrapper (a stray `}` closed it early).
            if 1 <= line <= source.count("\n") + 1:
                return line
        except Exception:  # the `throw 0` (it all parsed after all) or a timeout: no line known
            pass
        return None
