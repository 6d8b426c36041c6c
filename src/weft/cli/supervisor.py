"""The supervisor of `weft serve --processes N`: uvicorn's, with timeouts that fit a busy machine.

uvicorn's own supervisor pings each child every half second and kills one that does not answer
within `timeout_worker_healthcheck` (5 s), from the moment it was spawned. A child answers only
once it has imported Weft, which takes 15 s and more at a load average of 10 or on a slow disk,
so every child was killed before it could serve, again and again, with no reason given.

Here a child has `boot_timeout_s` to start serving (from its spawn until its server has
started), and only then must answer each ping within `health_timeout_s`. The pings never block
the supervisor's loop, so signals are handled at once however long the timeouts. A child that
is restarted, or that exits by itself, says why in one log line.
"""

from __future__ import annotations

import importlib.util
import logging
import pickle
import signal
import sys
import time
from dataclasses import dataclass, field
from socket import socket

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("weft.serve")


@dataclass
class _Watch:
    """What the supervisor knows of one child's health pings."""

    spawned_at: float = field(default_factory=time.monotonic)
    started: bool = False  # its server answered that it has started
    answered: bool = False  # it answered a ping at all (it has imported uvicorn's side)
    pinged_at: float | None = None  # when the ping it has not answered yet was sent


def children_skip_the_main_script() -> None:
    """A child spawned by multiprocessing first runs its parent's main script again (as
    `__mp_main__`). The installed `weft` script imports every command, 0.5 s of CPU that a
    serving child does not need and that delays its first answer. Naming `weft.__main__` the
    main module makes children skip it: multiprocessing never re-runs a `*.__main__` module."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None:
        main.__spec__ = importlib.util.find_spec("weft.__main__")


class Supervisor(Multiprocess):
    """uvicorn's `Multiprocess` with a boot timeout, a health timeout and reasons in the log."""

    def __init__(
        self, config: Config, sockets: list[socket], boot_timeout_s: float, health_timeout_s: float
    ) -> None:
        super().__init__(config, sockets)
        self.boot_timeout_s = boot_timeout_s
        self.health_timeout_s = health_timeout_s
        # SIGHUP's rolling restart waits this long for each new child to serve.
        config.timeout_worker_healthcheck = max(1, round(boot_timeout_s))
        self._watches: dict[Process, _Watch] = {}
        children_skip_the_main_script()

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return  # stopping: the children are being stopped on purpose
        live = set(self.processes)
        for gone in [process for process in self._watches if process not in live]:
            del self._watches[gone]
        for index, process in enumerate(self.processes):
            reason = self._trouble(process)
            if reason is None:
                continue
            process.kill()
            process.join()
            self._watches.pop(process, None)
            if process.exitcode == STARTUP_FAILURE:
                # Its app failed to start (the error is logged above): a new one would too.
                log.error(f"worker process {process.pid} failed to start; stopping the server")
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.warning(f"worker process {process.pid} {reason}; restarting")
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[index] = replacement

    def _trouble(self, process: Process) -> str | None:
        """Why `process` must be replaced, or None while it is healthy or still in time."""
        if not process.process.is_alive():
            return _exit_reason(process.exitcode)
        watch = self._watches.setdefault(process, _Watch())
        now = time.monotonic()
        try:
            while process.parent_conn.poll(0):
                started = bool(process.parent_conn.recv())
                if started and not watch.started:
                    log.info(f"worker process {process.pid} is serving and answers health checks")
                watch.started = started
                watch.answered = True
                watch.pinged_at = None
            if watch.pinged_at is None:
                process.parent_conn.send(b"ping")
                watch.pinged_at = now
        except (OSError, EOFError, pickle.UnpicklingError):
            pass  # a broken pipe: the child is exiting, or it times out below
        if not watch.started:
            if now - watch.spawned_at <= self.boot_timeout_s:
                return None
            stage = "still starting its app" if watch.answered else "still importing?"
            return (
                f"did not start serving within {self.boot_timeout_s:g} s ({stage}); "
                "raise WEFT_PROCESS_BOOT_TIMEOUT_S on a slow machine"
            )
        if watch.pinged_at is not None and now - watch.pinged_at > self.health_timeout_s:
            return (
                f"did not answer its health check within {self.health_timeout_s:g} s "
                "(WEFT_PROCESS_HEALTH_TIMEOUT_S)"
            )
        return None


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {code}"
