"""The parent's handle on one worker process: spawn it, call it, kill it, explain its death."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import deque
from pathlib import Path
from typing import Any

from weft.sandbox import protocol

# The package root, so the child imports this very copy of weft (even from a source checkout).
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
STDERR_TAIL_BYTES = 8192
# What V8 prints when it aborts for lack of memory (heap limit, RLIMIT_DATA, table size). It is
# followed by a long stack trace, so markers are looked for as the text streams by.
OOM_MARKERS = (b"out of memory", b"Reached heap limit", b"allocation failed", b"invalid size error")
MARKER_OVERLAP = 64
# How long a dead worker's stderr may take to reach its end.
EXIT_WAIT_S = 2.0


class WorkerGone(Exception):
    """The worker stopped answering: it died, or missed its deadline and was killed."""

    def __init__(self, *, deadline_missed: bool, out_of_memory: bool, detail: str) -> None:
        super().__init__(detail)
        self.deadline_missed = deadline_missed
        self.out_of_memory = out_of_memory
        self.detail = detail


class WorkerProcess:
    """One `python -m weft.sandbox.worker` child and the pipes to it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._stderr_tail: deque[bytes] = deque()
        self._stderr_size = 0
        assert process.stderr is not None
        self._saw_oom_marker = False
        self._stderr_task = asyncio.ensure_future(self._drain_stderr(process.stderr))
        self._killed_by_us = False

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    @classmethod
    async def spawn(cls, start_timeout_s: float) -> WorkerProcess:
        """Start a worker and wait until its V8 is up."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # keep the working directory off sys.path: only the real weft is imported
            "-m",
            "weft.sandbox.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        worker = cls(process)
        try:
            header, _ = await asyncio.wait_for(worker._read_frame(), start_timeout_s)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as error:
            await worker.kill()
            raise RuntimeError(f"sandbox worker did not start: {worker.stderr_tail()}") from error
        if header.get("status") != protocol.READY:
            await worker.kill()
            raise RuntimeError(f"sandbox worker sent {header!r} instead of ready")
        return worker

    async def call(
        self, header: dict[str, Any], body: bytes, deadline_s: float
    ) -> tuple[dict[str, Any], bytes]:
        """Send one request and wait for its reply; past the deadline the worker is killed."""
        self._saw_oom_marker = False
        try:
            async with asyncio.timeout(deadline_s):
                assert self.process.stdin is not None
                self.process.stdin.write(protocol.encode_frame(header, body))
                await self.process.stdin.drain()
                return await self._read_frame()
        except TimeoutError:
            await self.kill()
            raise WorkerGone(
                deadline_missed=True, out_of_memory=False, detail="missed its deadline"
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            raise await self._death() from None

    async def _read_frame(self) -> tuple[dict[str, Any], bytes]:
        assert self.process.stdout is not None
        prefix = await self.process.stdout.readexactly(protocol.PREFIX.size)
        header_length, body_length = protocol.decode_prefix(prefix)
        header = protocol.decode_header(await self.process.stdout.readexactly(header_length))
        return header, await self.process.stdout.readexactly(body_length)

    async def _death(self) -> WorkerGone:
        # The pipe closed under us: wait for the exit status and V8's last words on stderr.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXIT_WAIT_S):
                await self.process.wait()
        await self.kill()
        code = self.process.returncode
        # SIGKILL that we did not send is the kernel's OOM killer.
        out_of_memory = self._saw_oom_marker or (code == -signal.SIGKILL and not self._killed_by_us)
        if code is not None and code < 0:
            detail = f"killed by {signal.Signals(-code).name}"
        else:
            detail = f"exited with status {code}"
        return WorkerGone(deadline_missed=False, out_of_memory=out_of_memory, detail=detail)

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        # Only the end is kept, for diagnostics; markers are checked across chunk boundaries.
        carry = b""
        while chunk := await stream.read(4096):
            window = carry + chunk
            if any(marker in window for marker in OOM_MARKERS):
                self._saw_oom_marker = True
            carry = window[-MARKER_OVERLAP:]
            self._stderr_tail.append(chunk)
            self._stderr_size += len(chunk)
            while self._stderr_size - len(self._stderr_tail[0]) >= STDERR_TAIL_BYTES:
                self._stderr_size -= len(self._stderr_tail.popleft())

    def stderr_tail(self) -> str:
        """The last few KiB the worker wrote to stderr."""
        return b"".join(self._stderr_tail).decode(errors="replace")

    def kill_now(self) -> None:
        """SIGKILL without waiting (for teardown outside the pool's event loop)."""
        if self.process.returncode is None:
            self._killed_by_us = True
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def kill(self) -> None:
        """SIGKILL the worker, reap it and read the rest of its stderr."""
        self.kill_now()
        await self.process.wait()
        # Several callers may get here at once (the call that saw the death, the pool's
        # watcher): asyncio.wait neither cancels the shared task nor raises if another did.
        await asyncio.wait({self._stderr_task}, timeout=EXIT_WAIT_S)
        self._stderr_task.cancel()

    async def stop(self, grace_s: float = 1.0) -> None:
        """Close its stdin so it exits by itself; kill it if it takes longer than `grace_s`."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            async with asyncio.timeout(grace_s):
                await self.process.wait()
        except TimeoutError:
            pass
        await self.kill()
