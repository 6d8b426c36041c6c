"""Crash test on PostgreSQL: `kill -9` workers mid-run; every run still finishes, no completed
step is repeated, and in-flight steps run at least once. The workers' logs are kept and checked:
a deadlock or an unexpected error fails the test even when every run ended well.

`bench/crash_loop.sh` runs this test many times in a row (it used to fail about one run in fifty).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from engine.flows import execute, publish
from engine.sink import Sink
from graphs import node
from support import Tenant
from weft.store.db import Database
from weft.store.tables import Execution, Step

pytestmark = pytest.mark.slow

RUNS = 50
KILLS = 4


@pytest.fixture
def db_url(postgres_url: str) -> str:  # this file runs on PostgreSQL only
    return postgres_url


@pytest.fixture
def sink() -> AsyncIterator[Sink]:
    server = Sink()
    yield server
    server.close()


def start_worker(db_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    """A `weft worker` process whose output goes to a log file of its own in `data_dir`."""
    log_path = data_dir / f"worker-{len(list(data_dir.glob('worker-*.log')))}.log"
    env = {
        **os.environ,
        "WEFT_DATABASE_URL": db_url,
        "WEFT_DATA_DIR": str(data_dir),
        "WEFT_OUTBOUND_ALLOW": "127.0.0.1",
        "WEFT_LEASE_S": "1.5",
        "WEFT_POLL_S": "0.05",
        "WEFT_WORKER_CONCURRENCY": "16",
    }
    with log_path.open("wb") as log_file:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "weft", "worker"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


# What a worker may print: its banner, and info lines of its JSON log (runs claimed, ended).
# A killed worker's log just stops.
EXPECTED_LOG_LINES = ("weft worker: ",)


def _is_info(line: str) -> bool:
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return isinstance(entry, dict) and entry.get("level") in ("debug", "info")


def unexpected_log_lines(data_dir: Path) -> list[str]:
    """Every line of the workers' logs that is neither a banner, an info line nor blank."""
    found = []
    for path in sorted(data_dir.glob("worker-*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if line.strip() and not line.startswith(EXPECTED_LOG_LINES) and not _is_info(line):
                found.append(f"{path.name}: {line}")
    return found


async def test_killed_workers_lose_no_run_and_repeat_no_completed_step(
    client: httpx.AsyncClient, tenant: Tenant, sink: Sink, db_url: str, tmp_path: Path
) -> None:
    nodes = [node("1", "start", "Start", trigger="manual")]
    for index, name in enumerate("abc", start=2):
        nodes.append(
            node(
                str(index),
                "http",
                f"Call {name}",
                method="POST",
                url=sink.url + "/slow/300/{{ trigger.i }}/" + name,
            )
        )
        nodes.append(node(f"t{name}", "transform", f"Note {name}", value="{{ trigger.i }}"))
    workflow_id = await publish(client, tenant, nodes)
    workers = [start_worker(db_url, tmp_path), start_worker(db_url, tmp_path)]
    try:
        ids = []
        for i in range(RUNS):
            started = await execute(client, tenant, workflow_id, {"i": i})
            ids.append(started.json()["execution_id"])
        db = Database(db_url)
        kills = 0
        try:
            for _ in range(KILLS):
                # Kill a worker only while it holds runs, so every kill cuts work off.
                victim_index = await wait_for_busy_worker(db, workers, ids, timeout_s=30)
                if victim_index is None:
                    break
                workers[victim_index].send_signal(signal.SIGKILL)
                workers[victim_index].wait()
                kills += 1
                workers[victim_index] = start_worker(db_url, tmp_path)
                await asyncio.sleep(0.3)
        finally:
            await db.dispose()
        db = Database(db_url)
        try:
            statuses = await wait_all_finished(db, ids, timeout_s=90)
            async with db.transaction() as session:
                attempts = list(
                    await session.scalars(select(Execution.attempt).where(Execution.id.in_(ids)))
                )
                steps = list(
                    await session.scalars(
                        select(Step).where(Step.execution_id.in_(ids), Step.node_type == "http")
                    )
                )
        finally:
            await db.dispose()
    finally:
        for process in workers:
            process.kill()
            process.wait()

    logged = unexpected_log_lines(tmp_path)
    assert not [line for line in logged if "deadlock" in line.lower()], "\n".join(logged)
    assert logged == [], "\n".join(logged)
    assert kills >= 2, "workers were never caught holding runs"
    assert statuses == {"succeeded": RUNS}
    assert sum(1 for a in attempts if a >= 2) >= 1, "no run was cut off: the test proved nothing"
    assert len(steps) == RUNS * 3
    calls: dict[str, list[float]] = {}
    for path, moment in sink.log:
        calls.setdefault(path, []).append(moment)
    for item in steps:
        execution_input = item.input["url"]
        path = "/" + execution_input.split("/", 3)[3]
        made = calls.get(path, [])
        assert made, f"{path} was never called"
        # Committed steps are never run again: every call happened before the commit.
        assert max(made) <= item.finished_at.timestamp() + 0.001, (path, made)
    repeated = sum(len(times) - 1 for times in calls.values())
    # Only steps in flight when a worker died run twice: at most one batch per kill.
    assert repeated <= KILLS * 16


async def wait_for_busy_worker(
    db: Database, workers: list[subprocess.Popen[bytes]], ids: list[str], timeout_s: float
) -> int | None:
    """Index of a worker that holds running executions now (None if the work ran out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        async with db.transaction() as session:
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
        for index, process in enumerate(workers):
            if any(owner and f":{process.pid}:" in owner for owner in owners):
                return index
        if not left:
            return None
        await asyncio.sleep(0.02)
    return None


async def wait_all_finished(db: Database, ids: list[str], timeout_s: float) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        async with db.transaction() as session:
            rows = (
                (await session.execute(select(Execution.status).where(Execution.id.in_(ids))))
                .scalars()
                .all()
            )
        counts: dict[str, int] = {}
        for status in rows:
            counts[status] = counts.get(status, 0) + 1
        if set(counts) <= {"succeeded", "failed", "errored", "cancelled"} or loop.time() > deadline:
            return counts
        await asyncio.sleep(0.2)
