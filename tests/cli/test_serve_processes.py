"""`weft serve --processes N`: N processes on one port, stopped together, never orphaned."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.flows import BASE
from graphs import chain, node
from support import TenantFactory
from weft.cli.processes import SQLITE_MAX_AUTO, resolve_processes
from weft.settings import Settings
from worker_processes import free_port, start_server, stop

pytestmark = pytest.mark.slow


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in listed]


def gone(pids: list[int], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]:
            return True
        time.sleep(0.05)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def serving_processes(process: subprocess.Popen[bytes]) -> list[int]:
    """The supervisor's children that serve (not multiprocessing's resource tracker)."""
    found = []
    for child in children_of(process.pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


def sqlite_server(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'weft.db'}"
    return start_server("serve", url, tmp_path, free_port(), "--processes", "2", *args, **env)


def test_auto_is_one_per_core_capped_on_sqlite_and_a_number_as_given(
    tmp_path: Path,
) -> None:
    postgres = "postgresql+asyncpg://weft@127.0.0.1/weft"
    cores = len(os.sched_getaffinity(0))
    on_postgres = Settings(data_dir=tmp_path, database_url=postgres, processes="auto")
    assert resolve_processes(on_postgres) == cores
    on_sqlite = Settings(data_dir=tmp_path, processes="auto")
    assert resolve_processes(on_sqlite) == min(cores, SQLITE_MAX_AUTO)
    assert resolve_processes(Settings(data_dir=tmp_path, processes="3")) == 3
    with pytest.raises(ValueError, match="at least 1"):
        resolve_processes(Settings(data_dir=tmp_path, processes="0"))


def test_serve_with_two_processes_prints_the_demo_once_and_stops_all_on_sigterm(
    tmp_path: Path,
) -> None:
    server = sqlite_server(tmp_path, "--demo")
    try:
        children = serving_processes(server)
        deadline = time.monotonic() + 30
        while len(children) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            children = serving_processes(server)
        assert len(children) == 2
        port = _port_of(tmp_path)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        code = stop(server)
    assert code == 0
    assert gone(children, within_s=15)
    log = _log_of(tmp_path)
    assert log.count("Weft demo organisation") == 1
    assert log.count("test API key") == 1


def test_children_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    server = sqlite_server(tmp_path)
    try:
        deadline = time.monotonic() + 30
        while len(serving_processes(server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        children = serving_processes(server)
        assert len(children) == 2
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    assert gone(children, within_s=15), "orphaned children kept serving"


def test_sqlite_rate_limits_are_shared_by_the_processes(tmp_path: Path) -> None:
    server = sqlite_server(tmp_path, WEFT_RATE_LIMIT_FAILED_AUTH="6")
    try:
        base = f"http://127.0.0.1:{_port_of(tmp_path)}"
        refused = []
        for _ in range(10):  # a new connection each: the kernel hands them to either process
            answer = httpx.get(f"{base}/api/v2/public/workflow", headers={"x-api-key": "bad"})
            refused.append(answer.status_code == 429)
        assert refused == [False] * 6 + [True] * 4
    finally:
        stop(server)


def _port_of(data_dir: Path) -> int:
    return int(next(data_dir.glob("serve-*.log")).stem.split("-")[1])


def _log_of(data_dir: Path) -> str:
    return next(data_dir.glob("serve-*.log")).read_text()


def test_shared_counts_add_up_across_processes(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from weft.tenancy.shared_counts import SharedCounts\n"
        "counts = SharedCounts(Path(sys.argv[1]))\n"
        "for _ in range(500):\n"
        "    counts.increment('bucket', 4_000_000_000, 60)\n"
    )
    path = tmp_path / "counts.bin"
    processes = [subprocess.Popen([sys.executable, "-c", script, str(path)]) for _ in range(3)]
    assert [p.wait(60) for p in processes] == [0, 0, 0]
    from weft.tenancy.shared_counts import SharedCounts

    assert SharedCounts(path).read("bucket", 4_000_000_000) == 1500


async def test_two_serve_processes_answer_concurrent_sync_calls(
    db_url: str, make_tenant: TenantFactory, tmp_path: Path
) -> None:
    tenant = await make_tenant("acct-serve")
    port = free_port()
    server = start_server("serve", db_url, tmp_path, port, "--processes", "2", "--no-migrate")
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers=tenant.bearer,
            timeout=30,
            limits=httpx.Limits(max_keepalive_connections=0),  # new connections: both children
        ) as http:
            nodes = [
                node("1", "start", "Start", trigger="manual"),
                node("2", "respond", "Reply", body={"n": "{{ trigger.n }}"}),
            ]
            created = await http.post(f"{BASE}/workflow", json={"name": "served"})
            workflow = created.json()["workflow"]["associated_workflow"]
            graph = {"nodes": nodes, "edges": chain(*nodes)}
            assert (await http.put(f"{BASE}/workflow/{workflow}/draft", json=graph)).is_success
            published = await http.put(
                f"{BASE}/workflow/{workflow}/publish", json={"published": True}
            )
            assert published.is_success
            answers = await asyncio.gather(
                *(
                    http.post(
                        f"{BASE}/workflow/{workflow}/execute",
                        json={"payload": {"n": n}, "sync_execution": True},
                    )
                    for n in range(16)
                )
            )
    finally:
        assert stop(server) == 0
    assert [a.status_code for a in answers] == [200] * 16
    assert [a.json() for a in answers] == [{"n": n} for n in range(16)]
