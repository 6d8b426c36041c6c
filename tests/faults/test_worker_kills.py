"""100 random `kill -9` of `weft worker` processes under load, each replaced as it dies: every
accepted trigger runs exactly once, no completed step is repeated, every run ends, and the
workers log nothing unexpected (tests/faults/fault_load.py states the invariants)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx
import pytest
from fault_load import Triggers, check_invariants, publish_load, wait_settled

from engine.sink import Sink
from support import Tenant
from weft.store.db import Database
from worker_processes import WorkerForks, busy_pids, unexpected_log_lines

pytestmark = pytest.mark.slow

KILLS = 100
WORKERS = 3
KILLING_FOR_AT_MOST_S = 240  # ~100 s on a busy 2-core machine
# Runs spread over the workers, so a kill cuts some off while the others' go on.
SPREAD = {"WEFT_WORKER_CONCURRENCY": "8"}
IN_FLIGHT = 30  # runs triggered and not yet ended, kept up while workers die


async def test_a_hundred_killed_workers_lose_no_run_and_repeat_no_completed_step(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    db_url: str,
    sink: Sink,
    worker_forks: WorkerForks,
    tmp_path: Path,
) -> None:
    chance = random.Random(10)
    workflow_id = await publish_load(client, tenant, sink)
    triggers = Triggers(client, tenant, workflow_id)
    workers = [worker_forks.start(db_url, tmp_path, **SPREAD) for _ in range(WORKERS)]
    stop_feeding = asyncio.Event()
    feeder = asyncio.create_task(triggers.keep_in_flight(db, IN_FLIGHT, stop_feeding))
    kills = 0
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILLING_FOR_AT_MOST_S
        while kills < KILLS and loop.time() < deadline:
            busy, _ = await busy_pids(db, triggers.ids)
            victims = [pid for pid in workers if pid in busy]
            if not victims:  # kill only a worker that holds runs: every kill cuts work off
                await asyncio.sleep(0.02)
                continue
            victim = chance.choice(victims)
            await asyncio.to_thread(worker_forks.kill, victim)
            kills += 1
            workers[workers.index(victim)] = worker_forks.start(db_url, tmp_path, **SPREAD)
            # Long enough for the forked replacement to start claiming; the busy-worker check
            # above already waits until a kill would cut work off.
            await asyncio.sleep(chance.uniform(0.1, 0.3))
    finally:
        stop_feeding.set()
        await feeder
    killed_in_s = loop.time() - deadline + KILLING_FOR_AT_MOST_S
    statuses = await wait_settled(db, triggers.ids, timeout_s=60)
    settled_in_s = loop.time() - deadline + KILLING_FOR_AT_MOST_S - killed_in_s
    figures = await check_invariants(db, triggers, sink)

    assert kills == KILLS, f"only {kills} kills: the workers were seldom caught holding runs"
    assert statuses == {"succeeded": figures.runs}
    assert figures.reclaimed_runs >= KILLS // 4, "few runs were cut off: the test proved little"
    assert unexpected_log_lines(tmp_path) == []
    print(
        f"\nworker kills: {kills} in {killed_in_s:.0f} s, settled after {settled_in_s:.0f} s, "
        f"{figures}"
    )
