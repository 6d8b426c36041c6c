"""Crash test on PostgreSQL: `kill -9` workers mid-run; every run still finishes, no completed
step is repeated, and in-flight steps run at least once. The workers' logs are kept and checked:
a deadlock or an unexpected error fails the test even when every run ended well.

`bench/crash_loop.sh` runs this test many times in a row (it used to fail about one run in fifty).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from engine.flows import execute, publish
from engine.sink import Sink
from graphs import node
from support import Tenant
from weft.store.db import Database
from weft.store.tables import Execution, Step
from worker_processes import (
    start_worker,
    unexpected_log_lines,
    wait_all_finished,
    wait_for_busy_worker,
)

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
                await asyncio.sleep(0.3)  # pacing: the new worker joins in before the next kill
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
