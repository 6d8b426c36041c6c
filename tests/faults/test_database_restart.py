"""The database restarts under load, twice, while workers and the API run: the system recovers
without anyone's help. The API answers 503 with `Retry-After` (never 500) while the database is
away; the client retries with the same Idempotency-Key; every run ends once it is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fault_load import (
    DATABASE_OUTAGE_WARNINGS,
    Triggers,
    check_invariants,
    publish_load,
    wait_settled,
)
from fault_postgres import FaultPostgres

from engine.sink import Sink
from support import Tenant
from weft.store.db import Database
from worker_processes import WorkerForks, unexpected_log_lines

pytestmark = pytest.mark.slow

RESTARTS = 2
DOWN_S = 3.0


async def test_a_database_restart_under_load_loses_no_run_and_needs_no_help(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    db_url: str,
    fault_postgres: FaultPostgres,
    sink: Sink,
    worker_forks: WorkerForks,
    tmp_path: Path,
) -> None:
    workflow_id = await publish_load(client, tenant, sink)
    triggers = Triggers(client, tenant, workflow_id)
    for _ in range(2):
        worker_forks.start(db_url, tmp_path)
    stop_feeding = asyncio.Event()
    feeder = asyncio.create_task(triggers.keep_in_flight(db, 20, stop_feeding))
    try:
        for _ in range(RESTARTS):
            await asyncio.sleep(3)  # runs in every state: queued, running, waiting
            await asyncio.to_thread(fault_postgres.stop)
            try:
                await asyncio.sleep(DOWN_S)  # the client keeps triggering meanwhile
            finally:
                await asyncio.to_thread(fault_postgres.start)
        await asyncio.sleep(3)
    finally:
        stop_feeding.set()
        await feeder
    statuses = await wait_settled(db, triggers.ids, timeout_s=60)
    figures = await check_invariants(db, triggers, sink)

    assert statuses == {"succeeded": figures.runs}
    assert triggers.refusals, "no trigger met the outage: the test proved little"
    assert unexpected_log_lines(tmp_path, allowed=DATABASE_OUTAGE_WARNINGS) == []
    print(
        f"\ndatabase restarts: {RESTARTS}, refused while down: {dict(triggers.refusals)}, {figures}"
    )
