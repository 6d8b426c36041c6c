"""`weft worker` processes for the crash and fault tests: start them, kill them, read their logs.

`start_worker` starts one with `python -m weft worker`. `WorkerForks` starts the same command
by forking a process that imported Weft once: a cold start costs ~1.7 s of CPU, which a test
that kills and restarts a hundred workers cannot afford on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import func, select

from weft.store.db import Database
from weft.store.tables import Execution

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "errored", "cancelled"})

# What a worker may print: its banners, and info lines of its JSON log (each run claimed,
# parked, ended). A killed worker's log just stops.
EXPECTED_LOG_LINES = ("weft worker: ",)


def worker_env(db_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a test worker: fast leases and polls, outbound calls to 127.0.0.1."""
    return {
        **os.environ,
        "WEFT_DATABASE_URL": db_url,
        "WEFT_DATA_DIR": str(data_dir),
        "WEFT_OUTBOUND_ALLOW": "127.0.0.1",
        "WEFT_LEASE_S": "1.5",
        "WEFT_POLL_S": "0.05",
        "WEFT_WORKER_CONCURRENCY": "16",
        **overrides,
    }


def next_log_path(data_dir: Path) -> Path:
    """A log file of its own for the next worker started in `data_dir`."""
    return data_dir / f"worker-{len(list(data_dir.glob('worker-*.log')))}.log"


def start_worker(
    db_url: str,
    data_dir: Path,
    *,
    group: int | None = None,
    netns: str | None = None,
    **env: str,
) -> subprocess.Popen[bytes]:
    """A `weft worker` process whose output goes to a log file of its own in `data_dir`; in
    process group `group` (0: a group of its own) and network namespace `netns` when given."""
    with next_log_path(data_dir).open("wb") as log_file:  # the child keeps its own descriptor
        return subprocess.Popen(
            [*in_namespace(netns), sys.executable, "-m", "weft", "worker"],
            env=worker_env(db_url, data_dir, **env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            process_group=group,
        )


def unexpected_log_lines(data_dir: Path, allowed: Iterable[str] = ()) -> list[str]:
    """Every line of the workers' logs that is neither a banner, an info line, blank nor
    `allowed`, with its file.

    `allowed` are substrings of lines a fault makes expected (a database restart's warnings);
    the lines that follow a warning (its traceback) are allowed with it.
    """
    allowed = tuple(allowed)
    found = []
    for path in sorted(data_dir.glob("worker-*.log")):
        in_allowed_record = False
        for line in path.read_text(errors="replace").splitlines():
            if not line.strip() or line.startswith(EXPECTED_LOG_LINES) or _is_info(line):
                continue
            if line.startswith("{") or not line.startswith((" ", "Traceback", "\t")):
                in_allowed_record = any(text in line for text in allowed)
            if not in_allowed_record:
                found.append(f"{path.name}: {line}")
    return found


def _is_info(line: str) -> bool:
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return isinstance(entry, dict) and entry.get("level") in ("debug", "info")


class WorkerForks:
    """`weft worker` (and `weft api`) processes forked from one process that imported Weft.

    Each child is a real worker process: its own database pool, event loop and lease owner
    name; `kill` sends it SIGKILL. The fork server ignores SIGCHLD, so dead children are reaped
    by the kernel and a killed worker's pid disappears as soon as it is gone.
    """

    def __init__(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("worker_fork_server.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.pids: list[int] = []

    def start(self, db_url: str, data_dir: Path, **env: str) -> int:
        """Fork a worker with this environment; its pid."""
        log_path = next_log_path(data_dir)
        log_path.touch()  # now: the next worker, started before this one runs, needs its own
        return self._fork(["worker"], log_path, worker_env(db_url, data_dir, **env))

    def start_api(self, db_url: str, data_dir: Path, port: int, **env: str) -> int:
        """Fork `weft api` on 127.0.0.1:`port` with this environment; its pid, once it answers
        /healthz. Seconds sooner than `start_server`, which imports Weft for each start."""
        log_path = data_dir / f"api-{port}.log"
        pid = self._fork(
            ["api"], log_path, worker_env(db_url, data_dir, WEFT_PORT=str(port), **env)
        )
        if not answers_health(f"http://127.0.0.1:{port}/healthz", lambda: alive(pid)):
            self.kill(pid)
            raise AssertionError(f"weft api did not start: {log_path.read_text()[-2000:]}")
        return pid

    def _fork(self, args: list[str], log_path: Path, env: dict[str, str]) -> int:
        assert self.server.stdin is not None and self.server.stdout is not None
        order = {"log": str(log_path), "env": env, "args": args}
        self.server.stdin.write(json.dumps(order).encode() + b"\n")
        self.server.stdin.flush()
        pid = int(self.server.stdout.readline())
        self.pids.append(pid)
        return pid

    def stop(self, pid: int, timeout_s: float = 20) -> None:
        """SIGTERM the process and wait until it is gone (SIGKILL if it does not stop in time),
        as `stop` does for a started one."""
        with contextlib.suppress(ProcessLookupError):  # already gone (it failed on its own)
            os.kill(pid, signal.SIGTERM)
        if gone_within(pid, timeout_s):
            self.pids.remove(pid)
        else:
            self.kill(pid)

    def kill(self, pid: int, timeout_s: float = 10) -> None:
        """SIGKILL the worker and wait until it is gone."""
        os.kill(pid, signal.SIGKILL)
        gone_within(pid, timeout_s)
        self.pids.remove(pid)

    def close(self) -> None:
        """Kill every worker still running, then the fork server."""
        for pid in list(self.pids):
            if alive(pid):
                self.kill(pid)
        self.server.kill()
        self.server.wait()


def gone_within(pid: int, timeout_s: float) -> bool:
    """Whether the process is gone within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.005)
    return not alive(pid)


def alive(pid: int) -> bool:
    """The process exists (the fork server's children are reaped as soon as they die)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def owner_pid(owner: str | None) -> int | None:
    """The pid in a lease owner name (`host:pid:random`)."""
    if not owner or owner.count(":") < 2:
        return None
    return int(owner.rsplit(":", 2)[1])


async def busy_pids(db: Database, ids: Iterable[str]) -> tuple[set[int], int]:
    """Pids of the workers that hold running executions among `ids`, and how many are left."""
    ids = list(ids)
    async with db.reading() as session:
        owners = set(
            await session.scalars(
                select(Execution.lease_owner).where(
                    Execution.id.in_(ids), Execution.status == "running"
                )
            )
        )
        left = await session.scalar(
            select(func.count())
            .select_from(Execution)
            .where(Execution.id.in_(ids), Execution.due_at.is_not(None))
        )
    return {pid for pid in map(owner_pid, owners) if pid is not None}, int(left or 0)


async def wait_for_busy_worker(
    db: Database, workers: list[subprocess.Popen[bytes]], ids: list[str], timeout_s: float
) -> int | None:
    """Index of a worker that holds running executions now (None if the work ran out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        pids, left = await busy_pids(db, ids)
        for index, process in enumerate(workers):
            if process.pid in pids:
                return index
        if not left:
            return None
        await asyncio.sleep(0.02)
    return None


async def execution_statuses(db: Database, ids: Iterable[str]) -> dict[str, int]:
    """How many of these executions are in each status."""
    async with db.reading() as session:
        rows = (
            (await session.execute(select(Execution.status).where(Execution.id.in_(list(ids)))))
            .scalars()
            .all()
        )
    counts: dict[str, int] = {}
    for status in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


async def wait_all_finished(db: Database, ids: list[str], timeout_s: float) -> dict[str, int]:
    """Status counts once every execution ended (or as they stand when `timeout_s` passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        counts = await execution_statuses(db, ids)
        if set(counts) <= TERMINAL_STATUSES or loop.time() > deadline:
            return counts
        await asyncio.sleep(0.2)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def weft_program(script: bool = False) -> list[str]:
    """How a test runs Weft's command line: `python -m weft`, or with `script` the installed
    `weft` script, as `make run` does (its children import the script again)."""
    if script:
        return [str(Path(sys.executable).parent / "weft")]
    return [sys.executable, "-m", "weft"]


def start_server(
    command: str,
    db_url: str,
    data_dir: Path,
    port: int,
    *args: str,
    script: bool = False,
    group: int | None = None,
    netns: str | None = None,
    start_within_s: float = 60,
    **env: str,
) -> subprocess.Popen[bytes]:
    """`weft serve` or `weft api` on `WEFT_HOST` (default 127.0.0.1):`port`, logging to a file
    of its own; returns once it answers /healthz (within `start_within_s`). In process group
    `group` (0: a group of its own) and network namespace `netns` when given, as tests/hosts.py
    starts a host."""
    log_path = data_dir / f"{command}-{port}.log"
    address = env.get("WEFT_HOST", "127.0.0.1")
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*in_namespace(netns), *weft_program(script), command, *args],
            env=worker_env(db_url, data_dir, WEFT_PORT=str(port), **env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            process_group=group,
        )
    url = f"http://{address}:{port}/healthz"
    if answers_health(url, lambda: process.poll() is None, start_within_s):
        return process
    process.kill()
    raise AssertionError(f"weft {command} did not start: {log_path.read_text()[-2000:]}")


def answers_health(url: str, running: Callable[[], bool], timeout_s: float = 60) -> bool:
    """Whether `url` answers 200 within `timeout_s`, asked while `running()` holds."""
    import httpx

    deadline = time.monotonic() + timeout_s
    # One client: each httpx.get builds an SSL context, 25 ms of CPU, a third of a core at
    # this pace, taken from the server starting beside it.
    with httpx.Client(timeout=0.5) as client:
        while time.monotonic() < deadline and running():
            try:
                if client.get(url).status_code == 200:
                    return True
            except httpx.TransportError:
                time.sleep(0.05)
    return False


def in_namespace(netns: str | None) -> list[str]:
    """The command prefix that runs a program in network namespace `netns` (none: as it is)."""
    return ["ip", "netns", "exec", netns] if netns else []


def stop(process: subprocess.Popen[bytes], timeout_s: float = 20) -> int:
    """SIGTERM the process and wait for it (SIGKILL if it does not stop in time); its code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
