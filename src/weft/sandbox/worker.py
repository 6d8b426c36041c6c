"""The worker process: runs one call at a time, each in a fresh V8 isolate, and answers on a pipe.

Started by the pool as `python -m weft.sandbox.worker`; requests arrive on stdin and replies leave
on the original stdout (fd 1 is pointed at stderr so that nothing else can corrupt the protocol).
A fresh isolate per call is the isolation boundary: nothing a call does (globals, patched
prototypes, RegExp statics) can be seen by the next. Creating one costs about 3 ms, so a small
stock is prepared in a background thread and a call normally just takes one. A request that
carries a `warm_key` may instead run in a warm context kept for that key (weft.sandbox.warm):
an isolate locked down so that a call can leave nothing behind, reused only after a success.

Two memory limits apply during a call: mini-racer's heap limit (checked by V8 after each GC),
and RLIMIT_DATA, lowered for the duration of the call, which catches what the GC check cannot:
one huge allocation makes V8 abort the whole process, and the pool then reports the crash as a
memory error. RLIMIT_AS is unusable because V8 reserves ~1.4 TB of address space at start (its
sandbox and pointer-compression cages); RLIMIT_DATA only counts writable private memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from collections import deque
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from py_mini_racer import JSEvalException, JSOOMException

from weft.sandbox import protocol
from weft.sandbox.isolate import Isolate
from weft.sandbox.warm import WarmContext, WarmContexts, lockdown_may_have_caused

MIB = 1024 * 1024
SPARE_ISOLATES = 2
# A warm context whose call grew writable memory by more than this is disposed of, not kept.
WARM_KEEP_GROWTH_BYTES = 16 * MIB
# Locked-down isolates kept ready for keys not seen yet (once a warm call has been seen).
SPARE_WARM_ISOLATES = 1
# RLIMIT_DATA during a call: what the process had, plus the heap limit times this factor (V8
# overshoots its limit between GCs: a gradual bomb under a 64 MB limit grew writable memory by
# ~75 MB before mini-racer stopped it), plus slack for code pages, the isolate being prepared in
# the background (~18 MB) and the result copied into Python.
DATA_HEADROOM_FACTOR = 2
DATA_SLACK_BYTES = 96 * MIB
# Heap the parsed input may take on top of `memory_mb`: a JSON document takes ~3x its text.
INPUT_HEAP_FACTOR = 3
# A worker whose writable memory grew this far past its start retires (fragmentation, leaks).
RETIRE_GROWTH_BYTES = 512 * MIB
# What V8 throws when RLIMIT_DATA refuses a typed array's backing store (which lives outside
# the heap, so the heap limit never sees it).
ARRAY_BUFFER_FAILED = "RangeError: Array buffer allocation failed"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Internal outcome of a warm call whose error the lockdown may have caused (never sent).
RETRY_FRESH = "retry_fresh"


async def _within_cpu(run: Coroutine[Any, Any, str], limit_s: float) -> str:
    """`run`'s result, or TimeoutError once the worker has used `limit_s` of CPU on it.

    The worker runs one call at a time, so its process CPU time is the call's (V8's thread, the
    loop's marshalling, and the few ms a spare isolate prepared meanwhile costs). The CPU is
    first looked at when `limit_s` of wall time has passed (CPU time cannot run ahead of it by
    much), then again when what is left of the limit could be used up. A run that computes
    nothing meets `protocol.wall_backstop_s` instead. Either way `run` is cancelled, which makes
    mini-racer terminate the JavaScript. A quick call costs one timer handle."""
    loop = asyncio.get_running_loop()
    cpu_began = time.process_time()
    give_up_at = loop.time() + protocol.wall_backstop_s(limit_s)
    async with asyncio.timeout(None) as timer:

        def check() -> None:
            nonlocal handle
            left_s = limit_s - (time.process_time() - cpu_began)
            if left_s <= 0 or loop.time() >= give_up_at:
                timer.reschedule(loop.time())  # times out on the next turn of the loop
            else:
                handle = loop.call_later(left_s, check)

        handle = loop.call_later(limit_s, check)
        try:
            return await run
        finally:
            handle.cancel()


_statm_fd: int | None = None
# Read once: nothing in this process changes the hard limit.
_DATA_HARD_LIMIT = resource.getrlimit(resource.RLIMIT_DATA)[1]


def _data_bytes() -> int:
    """The process's writable private memory (what RLIMIT_DATA limits), from /proc/self/statm."""
    # Read twice per call: one kept descriptor and pread save an open, fstat, ioctl and close.
    global _statm_fd
    if _statm_fd is None:
        _statm_fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
    return int(os.pread(_statm_fd, 256, 0).split()[5]) * PAGE_SIZE


def _set_data_limit(limit: int) -> None:
    if _DATA_HARD_LIMIT != resource.RLIM_INFINITY:
        limit = min(limit, _DATA_HARD_LIMIT)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, _DATA_HARD_LIMIT))


class Worker:
    """Serves calls from a stream of frames; one at a time, each in its own isolate."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # One thread: preparing isolates is CPU work that must not crowd the running call.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-isolate")
        self._spares: deque[Isolate] = deque()
        self._warm_spares: deque[Isolate] = deque()
        self._warm = WarmContexts()
        self._warm_wanted = False
        self._last_growth = 0
        self._used: list[Isolate] = []
        self._refill_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self._start_data = 0
        self._bloated = False

    async def start(self) -> None:
        """Prepare the first isolates and note the baseline memory."""
        for _ in range(SPARE_ISOLATES):
            self._spares.append(await self._new_isolate())
        self._start_data = _data_bytes()

    async def call(self, header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        """Run one request; the reply header says how it ended."""
        # The memory limit is set relative to what the process holds now, so the previous
        # call's isolate must be gone first or its memory would be this call's to take.
        if self._tasks:
            await asyncio.gather(*self._tasks)
        key = header.get("warm_key")
        if key is not None and not self._warm.needs_fresh(key):
            reply = await self._call_warm(key, header, body)
        else:
            reply = await self._run(await self._fresh_isolate(), header, body)
        if self._bloated:
            reply[0]["retire"] = True
        return reply

    async def _fresh_isolate(self) -> Isolate:
        isolate = self._spares.popleft() if self._spares else await self._new_isolate()
        self._used.append(isolate)
        return isolate

    async def _call_warm(
        self, key: str, header: dict[str, Any], body: bytes
    ) -> tuple[dict[str, Any], bytes]:
        self._warm_wanted = True
        context, spent = self._warm.take(key)
        self._used.extend(spent)
        if context is None:
            if self._warm_spares:
                isolate = self._warm_spares.popleft()
            else:
                isolate = await self._new_isolate(warm=True)
            context = WarmContext(isolate)
        began = time.process_time()
        reply = await self._run(context.isolate, header, body, warm=True)
        # A call that grew the heap much leaves garbage that would stay until the context's
        # next call: such a context is not kept.
        if reply[0]["status"] == protocol.OK and self._last_growth < WARM_KEEP_GROWTH_BYTES:
            self._used.extend(self._warm.keep(key, context))
            return reply
        # Whatever went wrong, this context serves no other call.
        self._used.append(context.isolate)
        if reply[0]["status"] != RETRY_FRESH:
            return reply
        # The code may need what the lockdown forbids (a global, sloppy-mode syntax): run it as
        # a cold call would, with what is left of the call's time limit (the retry is no second
        # limit: code that spins, then throws a TypeError, ran twice as long before). A
        # different outcome shows the lockdown was the cause: that key's next calls go straight
        # to fresh isolates.
        warm_s = time.process_time() - began
        isolate = await self._fresh_isolate()
        left_s = header["timeout_ms"] / 1000 - (time.process_time() - began)
        fresh: tuple[dict[str, Any], bytes] = ({"status": protocol.TIMEOUT}, b"")
        if left_s > 0:
            fresh = await self._run(isolate, header, body, timeout_s=left_s)
        if fresh[0]["status"] == protocol.TIMEOUT and left_s < warm_s:
            # The rerun was stopped before it got as far as the warm run did: the author sees
            # the code's own error, not a timeout it did not cause.
            error = await self._reply(
                context.isolate, header["source"], reply[0]["tagged"], header["max_output_bytes"]
            )
            error[0]["retire"] = bool(fresh[0].get("retire"))  # a runaway may still run
            return error
        if fresh[0]["status"] != protocol.ERROR or fresh[0].get("message") != reply[0]["message"]:
            self._warm.mark_fresh_only(key)
        return fresh

    def tidy(self) -> None:
        """Dispose of used isolates and prepare new ones; called once the reply is sent."""
        used, self._used = self._used, []
        if used:  # nothing, after a warm call that kept its context
            disposal = asyncio.ensure_future(self._dispose(used))
            self._tasks.add(disposal)
            disposal.add_done_callback(self._tasks.discard)
        short = len(self._spares) < SPARE_ISOLATES or (
            self._warm_wanted and len(self._warm_spares) < SPARE_WARM_ISOLATES
        )
        if short and (self._refill_task is None or self._refill_task.done()):
            self._refill_task = asyncio.ensure_future(self._refill_spares())

    async def _dispose(self, used: list[Isolate]) -> None:
        for isolate in used:
            await self._loop.run_in_executor(self._executor, isolate.close)
        # Measured once the isolates are gone: a call that used much memory is no reason to
        # retire, memory that stays after it is.
        self._bloated = _data_bytes() - self._start_data > RETIRE_GROWTH_BYTES

    async def _refill_spares(self) -> None:
        while len(self._spares) < SPARE_ISOLATES:
            self._spares.append(await self._new_isolate())
        while self._warm_wanted and len(self._warm_spares) < SPARE_WARM_ISOLATES:
            self._warm_spares.append(await self._new_isolate(warm=True))

    async def _new_isolate(self, *, warm: bool = False) -> Isolate:
        # Always on the executor's one thread: mini-racer crashes if two threads create
        # isolates at once, and the event loop must stay free to serve mini-racer's callbacks.
        create = Isolate.create_warm if warm else Isolate.create
        return await self._loop.run_in_executor(self._executor, create, self._loop)

    async def _run(
        self,
        isolate: Isolate,
        header: dict[str, Any],
        body: bytes,
        *,
        warm: bool = False,
        timeout_s: float | None = None,
    ) -> tuple[dict[str, Any], bytes]:
        """Run the request in `isolate` for at most `timeout_s` of CPU (default: `timeout_ms`)."""
        source: str = header["source"]
        input_text = body.decode()
        heap_limit = header["memory_mb"] * MIB + INPUT_HEAP_FACTOR * len(body)
        isolate.set_heap_limit(heap_limit)
        data_before = _data_bytes()
        _set_data_limit(data_before + DATA_HEADROOM_FACTOR * heap_limit + DATA_SLACK_BYTES)
        try:
            limit_s = timeout_s or header["timeout_ms"] / 1000
            tagged = await _within_cpu(isolate.run(source, input_text), limit_s)
        except (TimeoutError, JSOOMException, MemoryError, JSEvalException) as error:
            memory = isolate.racer.was_hard_memory_limit_reached() or isinstance(
                error, JSOOMException | MemoryError
            )
            if isinstance(error, TimeoutError) or memory:
                return await self._stopped(isolate, protocol.MEMORY if memory else protocol.TIMEOUT)
            _set_data_limit(resource.RLIM_INFINITY)
            return {"status": protocol.ERROR, "message": str(error), "line": None}, b""
        _set_data_limit(resource.RLIM_INFINITY)
        if warm:
            self._last_growth = _data_bytes() - data_before
        if warm and lockdown_may_have_caused(tagged):
            message = tagged[1:].partition("\n")[2]
            return {"status": RETRY_FRESH, "message": message, "tagged": tagged}, b""
        return await self._reply(isolate, source, tagged, header["max_output_bytes"])

    async def _stopped(self, isolate: Isolate, status: str) -> tuple[dict[str, Any], bytes]:
        # mini-racer has asked V8 to terminate the code, but some builtins never check for
        # termination (Array.prototype.fill on a dictionary-mode array runs for seconds). An
        # isolate that cannot answer a trivial eval is still running: the worker retires, and
        # keeps its lowered RLIMIT_DATA so the runaway cannot take the host's memory meanwhile.
        if not await isolate.is_idle():
            return {"status": status, "retire": True}, b""
        _set_data_limit(resource.RLIM_INFINITY)
        return {"status": status}, b""

    async def _reply(
        self, isolate: Isolate, source: str, tagged: str, max_output: int
    ) -> tuple[dict[str, Any], bytes]:
        tag, payload = tagged[:1], tagged[1:]
        if tag == "R":
            output = payload.encode()
            if len(output) > max_output:
                message = (
                    f"The code's result is {len(output)} bytes, over the limit of {max_output}"
                )
                return {"status": protocol.INVALID_OUTPUT, "message": message}, b""
            return {"status": protocol.OK}, output
        if tag == "I":
            return {"status": protocol.INVALID_OUTPUT, "message": payload}, b""
        line_text, _, message = payload.partition("\n")
        if message == ARRAY_BUFFER_FAILED:
            return {"status": protocol.MEMORY}, b""
        if tag == "S":
            line = await isolate.syntax_error_line(source)
        else:
            line = int(line_text) if line_text.isdigit() else None
        return {"status": protocol.ERROR, "message": message, "line": line}, b""


async def _read_frame(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes] | None:
    try:
        prefix = await reader.readexactly(protocol.PREFIX.size)
    except asyncio.IncompleteReadError:
        return None  # the pool closed our stdin: time to go
    header_length, body_length = protocol.decode_prefix(prefix)
    header = protocol.decode_header(await reader.readexactly(header_length))
    return header, await reader.readexactly(body_length)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def serve(in_fd: int, out_fd: int) -> None:
    """Announce readiness, then answer frames until stdin closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**31)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(in_fd, "rb", buffering=0)
    )
    worker = Worker(loop)
    await worker.start()
    _write_all(out_fd, protocol.encode_frame({"status": protocol.READY, "pid": os.getpid()}))
    while (frame := await _read_frame(reader)) is not None:
        try:
            reply_header, reply_body = await worker.call(*frame)
        except Exception as error:  # a bug here must fail one call, not every call queued after
            reply_header = {"status": protocol.INTERNAL, "message": repr(error), "retire": True}
            reply_body = b""
        _write_all(out_fd, protocol.encode_frame(reply_header, reply_body))
        worker.tidy()


def _new_loop_policy() -> None:
    # uvloop where it is installed (as with uvicorn): a call's pipe reads and writes and
    # mini-racer's callbacks from V8's thread are event-loop work, a third of this process's CPU.
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main() -> None:
    """Entry point of the worker process."""
    # An abort (V8 out of memory) must not spend seconds writing a multi-GB core file.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out_fd = os.dup(1)
    os.dup2(2, 1)
    with contextlib.suppress(KeyboardInterrupt):
        _new_loop_policy()
        asyncio.run(serve(0, out_fd))
    # Skip interpreter teardown: finalising live isolates at exit can crash, and nothing is
    # left to flush.
    os._exit(0)


if __name__ == "__main__":
    main()
