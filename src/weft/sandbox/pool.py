"""A pool of sandbox worker processes shared by every `code` step of this process."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

import orjson

from weft.sandbox import protocol
from weft.sandbox.errors import (
    CodeError,
    CodeMemoryExceeded,
    CodeOutputInvalid,
    CodeTimeout,
    SandboxCrashed,
    SandboxError,
)
from weft.sandbox.process import WorkerGone, WorkerProcess
from weft.sandbox.turns import FairTurns
from weft.store.json_codec import parse_json

logger = logging.getLogger(__name__)
# What orjson writes as json.dumps would; anything else it hands back (TypeError) to json.dumps.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME

MIB = 1024 * 1024
DEFAULT_TIMEOUT_MS = 1000
DEFAULT_MEMORY_MB = 64
RESPAWN_BACKOFF_S = 1.0
# A warm key whose last QUICK_STREAK calls each took under QUICK_CALL_S is quick: its calls may
# borrow a worker past their caller's share while nobody else waits (see sandbox.turns).
QUICK_CALL_S = 0.05
QUICK_STREAK = 3
QUICK_KEYS = 4096  # keys remembered, least recently used dropped first
# A borrowed call may run this long. A streak is earned by earlier inputs; this call's input may
# spin (after 3 quick calls, a spin under a borrowed worker made another org wait 23.6 s). Past
# it the worker is reclaimed and the call runs again, with what is left of its time limit,
# within its caller's share: another caller waits at most this long for a borrowed worker.
BORROWED_CALL_S = 0.25


class SandboxPool:
    """Runs JavaScript in `size` worker processes; calls beyond that wait for a free worker.

    Waiting calls are served fairly by caller (see sandbox.turns): each caller, an org's linked
    account, holds at most `caller_share` workers at once (default: half the pool, at least 1),
    except that calls of code known to be quick may use idle workers while nobody else waits,
    each for at most BORROWED_CALL_S.
    """

    def __init__(
        self,
        size: int = 2,
        *,
        max_input_bytes: int = 10 * MIB,
        max_output_bytes: int = 10 * MIB,
        deadline_margin_s: float = 0.5,
        start_timeout_s: float = 30.0,
        caller_share: int | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a sandbox pool needs at least one worker")
        self.size = size
        self.caller_share = min(max(caller_share or size // 2, 1), size)
        self.max_input_bytes = max_input_bytes
        self.max_output_bytes = max_output_bytes
        self.deadline_margin_s = deadline_margin_s
        self.start_timeout_s = start_timeout_s
        self._turns: FairTurns[WorkerProcess] = FairTurns(self.caller_share)
        self._workers: set[WorkerProcess] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._start_lock = asyncio.Lock()
        # Consecutive quick calls by warm key, the most recently used last.
        self._quick_streaks: OrderedDict[str, int] = OrderedDict()
        self._started = False
        self._closed = False

    async def __aenter__(self) -> SandboxPool:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Spawn the workers (run() does this on first use); fails if V8 cannot start."""
        async with self._start_lock:
            if self._started:
                return
            if self._closed:
                raise SandboxError("The code sandbox is shut down")
            spawns = [WorkerProcess.spawn(self.start_timeout_s) for _ in range(self.size)]
            results = await asyncio.gather(*spawns, return_exceptions=True)
            started = [result for result in results if isinstance(result, WorkerProcess)]
            failures = [result for result in results if isinstance(result, BaseException)]
            if failures:
                await asyncio.gather(*(worker.kill() for worker in started))
                raise failures[0]
            for worker in started:
                self._adopt(worker)
            self._started = True

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for operators and tests)."""
        return sorted(worker.pid for worker in self._workers)

    async def run(
        self,
        source: str,
        input: Any,
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        memory_mb: int = DEFAULT_MEMORY_MB,
        caller: str = "",
        scope: str | None = None,
    ) -> Any:
        """Run `source` with the global `input`; return its JSON output or raise a SandboxError.

        `caller` names who asks (an org's linked account): calls wait their caller's turn.
        With a `scope` (e.g. a workflow version), the call may run in a warm context kept for
        this caller, scope and source (see weft.sandbox.warm); without one, in a fresh isolate.
        """
        if timeout_ms < 1 or memory_mb < 1:
            raise ValueError("timeout_ms and memory_mb must be positive")
        body = self._encode_input(input)
        header = {
            "source": source,
            "timeout_ms": timeout_ms,
            "memory_mb": memory_mb,
            "max_output_bytes": self.max_output_bytes,
        }
        key = None
        if scope is not None:
            # A warm run, then perhaps a fresh one, both within timeout_ms (weft.sandbox.warm).
            key = header["warm_key"] = warm_key(caller, scope, source)
        if not self._started:
            await self.start()
        budget_s = timeout_ms / 1000
        worker, borrowed = await self._take_worker(caller, self._is_quick(key))
        limit_s = min(budget_s, BORROWED_CALL_S) if borrowed else budget_s
        reply, output, spent_s = await self._attempt(
            worker, caller, header, body, limit_s, key, borrowed=borrowed
        )
        left_s = budget_s - spent_s
        if reply.get("status") == protocol.TIMEOUT and limit_s < budget_s and left_s > 0:
            # The borrowed worker is reclaimed: the call runs again from the start (code has no
            # effects outside its isolate) within its caller's share, with the time left.
            worker, _ = await self._take_worker(caller, False)
            reply, output, _ = await self._attempt(worker, caller, header, body, left_s, key)
        return _result(reply, output, timeout_ms, memory_mb)

    async def _attempt(
        self,
        worker: WorkerProcess,
        caller: str,
        header: dict[str, Any],
        body: bytes,
        limit_s: float,
        key: str | None,
        *,
        borrowed: bool = False,
    ) -> tuple[dict[str, Any], bytes, float]:
        """Run one call on a worker `caller` holds, for at most `limit_s` of the worker's CPU,
        then give it back. A borrowed worker is also taken back after `limit_s` of wall time
        (another caller may be waiting for it); an owned one only at the wall-clock backstop
        (a busy machine stretches a call's wall time, and must not fail it).

        Returns the reply, its output and the seconds it took; a worker killed for missing its
        deadline is a timeout."""
        keep = succeeded = False
        began = time.monotonic()
        wall_s = limit_s if borrowed else protocol.wall_backstop_s(limit_s)
        try:
            reply, output = await worker.call(
                header | {"timeout_ms": max(1, round(limit_s * 1000))},
                body,
                wall_s + self.deadline_margin_s,
            )
            keep = not reply.get("retire")
            succeeded = reply.get("status") == protocol.OK
        except WorkerGone as gone:
            if not gone.deadline_missed or self._closed:
                raise self._gone_error(gone, header["timeout_ms"], header["memory_mb"]) from None
            reply, output = {"status": protocol.TIMEOUT}, b""
        finally:
            spent_s = time.monotonic() - began
            if key is not None:  # a failure, whatever its cause, ends the key's quick streak
                self._note_call(key, spent_s if succeeded else None)
            # A worker is reused only after a complete exchange; if the caller was cancelled
            # mid-call, its reply may still be in the pipe, so it is replaced like a dead one.
            if keep and not self._closed:
                self._turns.give_back(caller, worker)
            else:
                self._discard(worker)
                self._turns.give_back(caller, None)
        return reply, output, spent_s

    def _is_quick(self, key: str | None) -> bool:
        return key is not None and self._quick_streaks.get(key, 0) >= QUICK_STREAK

    def _note_call(self, key: str, seconds: float | None) -> None:
        """Count a call of `key` that took `seconds` (None: it failed) towards its quick streak,
        or end the streak."""
        streak = self._quick_streaks.pop(key, 0)
        quick = seconds is not None and seconds < QUICK_CALL_S
        self._quick_streaks[key] = streak + 1 if quick else 0
        if len(self._quick_streaks) > QUICK_KEYS:
            self._quick_streaks.popitem(last=False)

    async def _take_worker(self, caller: str, may_borrow: bool) -> tuple[WorkerProcess, bool]:
        """A live worker for `caller`, and whether it is borrowed past the caller's share."""
        while True:
            if self._closed:
                raise SandboxError("The code sandbox is shut down")
            worker, borrowed = await self._turns.take_turn(caller, may_borrow=may_borrow)
            if worker.process.returncode is None and worker in self._workers:
                return worker, borrowed
            # Died while idle, before (or after) its watcher noticed.
            self._discard(worker)
            self._turns.give_back(caller, None)

    def _encode_input(self, value: Any) -> bytes:
        try:
            # As a step's output is stored (store.json_codec): NaN and the infinities become
            # null, so the code reads what the run's history shows, and reads the same after
            # a resume (which takes the inputs back from the database).
            body = orjson.dumps(value, option=_ORJSON_OPTIONS)
        except TypeError:  # a lone surrogate, an integer past 64 bits, a value that is not JSON
            try:
                body = json.dumps(
                    value, ensure_ascii=False, allow_nan=False, separators=(",", ":")
                ).encode()
            except (TypeError, ValueError) as error:
                raise CodeError(f"The code's input is not JSON: {error}") from None
        if len(body) > self.max_input_bytes:
            raise CodeError(
                f"The code's input is {len(body)} bytes, over the limit of {self.max_input_bytes}"
            )
        return body

    def _gone_error(self, gone: WorkerGone, timeout_ms: int, memory_mb: int) -> SandboxError:
        if self._closed:
            return SandboxError("The code sandbox was shut down during the call")
        if gone.out_of_memory:
            return CodeMemoryExceeded(memory_mb)
        return SandboxCrashed(f"The code's sandbox process crashed ({gone.detail})")

    def _adopt(self, worker: WorkerProcess) -> None:
        self._workers.add(worker)
        self._turns.put(worker)
        self._track(self._watch(worker))

    async def _watch(self, worker: WorkerProcess) -> None:
        # A worker that dies while idle (OOM killer, an operator's kill) is replaced at once
        # rather than failing the next call sent to it.
        await worker.process.wait()
        self._discard(worker)

    def _discard(self, worker: WorkerProcess) -> None:
        """Kill a worker that may be unfit for reuse and start its replacement."""
        if worker not in self._workers:
            return  # already replaced
        self._workers.discard(worker)
        self._track(worker.kill())
        if not self._closed:
            self._track(self._replace())

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _replace(self) -> None:
        while not self._closed:
            try:
                worker = await WorkerProcess.spawn(self.start_timeout_s)
            except Exception:
                logger.exception("sandbox worker failed to start; retrying")
                await asyncio.sleep(RESPAWN_BACKOFF_S)
                continue
            if self._closed:
                await worker.kill()
                return
            self._adopt(worker)
            return

    async def close(self) -> None:
        """Stop every worker; calls still running fail with a SandboxError."""
        self._closed = True
        self._turns.fail_all(SandboxError("The code sandbox is shut down"))
        workers, self._workers = list(self._workers), set()
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
        # Watchers end with their workers; replacements being spawned see `_closed` and kill
        # what they started.
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def kill_now(self) -> None:
        """Kill every worker without awaiting (when this pool's event loop is gone)."""
        self._closed = True
        for worker in self._workers:
            worker.kill_now()
        self._workers = set()


@functools.lru_cache(maxsize=1024)
def warm_key(caller: str, scope: str, source: str) -> str:
    """The warm-context key of a call: a digest of who runs which code in which scope."""
    # JSON keeps the parts apart ("a/b" + "c" never reads as "a" + "b/c").
    parts = json.dumps([caller, scope, source], ensure_ascii=False).encode()
    return hashlib.sha256(parts).hexdigest()


def _result(reply: dict[str, Any], output: bytes, timeout_ms: int, memory_mb: int) -> Any:
    status = reply.get("status")
    if status == protocol.OK:
        try:
            return parse_json(output)
        except (ValueError, RecursionError):
            raise CodeOutputInvalid("The code's result is not valid JSON") from None
    if status == protocol.TIMEOUT:
        raise CodeTimeout(timeout_ms)
    if status == protocol.MEMORY:
        raise CodeMemoryExceeded(memory_mb)
    if status == protocol.INVALID_OUTPUT:
        raise CodeOutputInvalid(str(reply.get("message")))
    if status == protocol.ERROR:
        raise CodeError(str(reply.get("message")), reply.get("line"))
    if status == protocol.INTERNAL:
        raise SandboxCrashed(f"The code's sandbox failed: {reply.get('message')}")
    raise SandboxCrashed(f"The code's sandbox sent an unknown reply: {status!r}")
