"""Evaluating expressions off the event loop, with a hard time limit.

jsonata-python checks its time limit only between evaluation steps, so one builtin call
(`$replace` on a long string, `$sort`, `$pad`) can run for many seconds; on the event loop that
would freeze every request and every run of the process. Evaluations therefore run on a few
daemon threads: the loop only awaits them, and the GIL hands it control every few milliseconds
whatever the expression does. A watchdog raises `HardTimeLimit` inside an evaluation whose thread
has used more CPU than its hard limit (CPython delivers it at the next bytecode), so a runaway
cannot keep a CPU either. Like JSONata's own limit (`cpu_timebox.py`), it counts the thread's CPU
time, not the wall clock: waiting for the GIL or a core on a busy machine spends none of it.
Only an evaluation stuck without computing meets the wall-clock backstop, WALL_BACKSTOP_S.
It also stops an evaluation during which the process's resident memory grew by more than
MEMORY_CAP_BYTES (an expression building strings or arrays; the builtins that could make a big
one in a single C call are capped in `caps.py`). Plain paths and expressions whose cost is
bounded by their length (`bounded.py`) skip the hop.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from weft.expressions.bounded import evaluates_inline
from weft.expressions.evaluator import (
    MEMORY_CAP_BYTES,
    ExpressionError,
    Limits,
    NeedsThread,
    allow_native_on_this_thread,
    evaluate,
    hard_limit_s,
    render,
    render_inline,
)
from weft.expressions.paths import plain_path

THREADS = 4
WATCH_INTERVAL_S = 0.01
WALL_BACKSTOP_S = 60.0
TOO_LONG = "Expression took too long (time limit exceeded)"
# MEMORY_CAP_BYTES (evaluator.py) is measured as the process's RSS, not the evaluation's own
# allocations (tracemalloc would slow every evaluation): an evaluation running while another
# grows memory this much is stopped too.
TOO_BIG = "Expression used too much memory (memory limit exceeded)"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class HardTimeLimit(BaseException):
    """Raised inside an evaluation thread whose expression ran past its hard limit."""


class HardMemoryLimit(HardTimeLimit):
    """Raised inside an evaluation thread whose expression grew memory past the cap."""


def _resident_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


@dataclass(eq=False)  # identity: jobs live in a set
class _Job:
    work: Callable[[], Any]
    hard_limit_s: float
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    cpu_clock: int = 0  # the serving thread's CPU-time clock
    cpu_deadline: float = 0.0
    wall_deadline: float = 0.0
    resident_at_start: int = 0
    thread_id: int | None = None
    finished: bool = False
    interrupted: bool = False


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class EvaluationThreads:
    """A few evaluation threads and a watchdog that interrupts evaluations past their limit."""

    def __init__(self, threads: int = THREADS) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._running: set[_Job] = set()
        self._running_lock = threading.Lock()
        self._started = False
        self._start_lock = threading.Lock()
        self._threads = threads

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            for index in range(self._threads):
                threading.Thread(
                    target=self._serve, name=f"weft-expressions-{index}", daemon=True
                ).start()
            threading.Thread(
                target=self._watch, name="weft-expressions-watchdog", daemon=True
            ).start()
            self._started = True

    async def run(self, work: Callable[[], Any], hard_limit_s: float) -> Any:
        """`work()` on an evaluation thread; `ExpressionError` if it outlives `hard_limit_s`."""
        if not self._started:
            self._start()
        loop = asyncio.get_running_loop()
        job = _Job(work, hard_limit_s, loop, loop.create_future())
        self._jobs.put(job)
        return await job.future

    def _serve(self) -> None:
        allow_native_on_this_thread()
        while True:
            try:
                self._serve_one(self._jobs.get())
            except HardTimeLimit:  # an interrupt that landed late, after its job was settled
                continue

    def _serve_one(self, job: _Job) -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            with job.lock:
                job.thread_id = threading.get_ident()
                job.cpu_clock = time.pthread_getcpuclockid(job.thread_id)
                job.cpu_deadline = time.clock_gettime(job.cpu_clock) + job.hard_limit_s
                job.wall_deadline = time.monotonic() + WALL_BACKSTOP_S
                job.resident_at_start = _resident_bytes()
            with self._running_lock:
                self._running.add(job)
            try:
                value = job.work()
            except HardTimeLimit:
                raise
            except Exception as failure:
                error = failure
            with job.lock:
                job.finished = True
                pending = job.interrupted
            if pending:
                _let_pending_interrupt_land()
        except HardTimeLimit as interrupt:
            value = None
            error = ExpressionError(TOO_BIG if isinstance(interrupt, HardMemoryLimit) else TOO_LONG)
            with job.lock:
                job.finished = True
        with self._running_lock:
            self._running.discard(job)
        if not job.loop.is_closed():
            job.loop.call_soon_threadsafe(_settle, job.future, value, error)

    def _watch(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL_S)
            moment = time.monotonic()
            with self._running_lock:
                running = list(self._running)
            resident = _resident_bytes() if running else 0
            for job in running:
                if _overdue(job, moment):
                    interrupt: type[HardTimeLimit] = HardTimeLimit
                elif resident - job.resident_at_start > MEMORY_CAP_BYTES:
                    interrupt = HardMemoryLimit
                else:
                    continue
                with job.lock:
                    if job.finished or job.interrupted or job.thread_id is None:
                        continue
                    job.interrupted = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(job.thread_id), ctypes.py_object(interrupt)
                    )


def _overdue(job: _Job, moment: float) -> bool:
    """Whether `job` has used its hard limit of CPU (or is stuck past the wall backstop)."""
    with job.lock:
        if job.finished or job.thread_id is None:
            return False
        try:
            used_up = time.clock_gettime(job.cpu_clock) > job.cpu_deadline
        except OSError:  # the thread is gone: nothing left to interrupt
            return False
    return used_up or job.wall_deadline < moment


def _let_pending_interrupt_land() -> None:
    """Give an interrupt raised just as the work ended a few bytecodes to arrive, here."""
    for _ in range(1000):
        time.sleep(0)


_threads = EvaluationThreads()


async def render_off_loop(value: Any, context: dict[str, Any], limits: Limits = Limits()) -> Any:
    """`render` on an evaluation thread (inline when nothing in it can take long)."""
    try:
        return render_inline(value, context, limits)
    except NeedsThread:  # what was rendered so far is dropped: expressions have no effects
        pass
    return await _threads.run(lambda: render(value, context, limits), hard_limit_s(limits))


async def evaluate_off_loop(source: str, context: dict[str, Any], limits: Limits = Limits()) -> Any:
    """`evaluate` on an evaluation thread, within the hard time limit (quick ones inline)."""
    if plain_path(source) is not None or evaluates_inline(source, context):
        return evaluate(source, context, limits)
    return await _threads.run(lambda: evaluate(source, context, limits), hard_limit_s(limits))
