"""PostgreSQL refuses connections ("too many clients") while runs are in flight: an outage, as a
restart is. A server with a low max_connections, a client outside Weft that takes every free
slot and has Weft's connections ended (as a restart would), then gives the slots back. No run
is marked errored, the API answers 503 in the envelope (never 500), and every run ends
succeeded once connections are free again. `weft serve` refuses to start more processes than
the connection budget lets into max_connections."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
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

from engine.flows import BASE
from engine.sink import Sink
from support import Tenant
from weft.cli.processes import fit_to_connections
from weft.settings import Settings
from weft.store.db import Database
from weft.store.raw_postgres import asyncpg_connect_arguments
from worker_processes import WorkerForks, unexpected_log_lines

pytestmark = pytest.mark.slow

MAX_CONNECTIONS = 30
STARVATIONS = 2
MAX_STARVATIONS = 6
STARVED_FOR_S = 3.0
HOG = "starvation-hog"
WORKER_BUDGET = "6"  # WEFT_DB_CONNECTIONS of each worker process


@pytest.fixture(scope="module")
def fault_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPostgres]:
    """A server of this module's own, with few connection slots."""
    server = FaultPostgres(tmp_path_factory.mktemp("starved-pg") / "data")
    server.server.psql(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS};\n")
    server.stop()
    server.start()
    yield server
    server.cleanup()


class Hog:
    """Connections of a client outside Weft that takes every slot the server has left."""

    def __init__(self, db: Database) -> None:
        self.options: dict[str, Any] = asyncpg_connect_arguments(db.engine)
        self.options["server_settings"] = {"application_name": HOG}
        self.held: list[asyncpg.Connection] = []

    async def take_every_slot(self) -> None:
        """Connect until the server refuses, and end every other client's connections (as a
        restart would, so Weft must connect again) until the hog holds every slot. Weft
        reconnects into the slots ended connections free: one it kept would let it ride out the
        whole starvation (seen: six starvations in a row met by no trigger)."""
        for _ in range(100):
            await self._fill()
            ended = await self.held[0].fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND application_name <> $1",
                HOG,
            )
            if ended == 0:
                return
            await asyncio.sleep(0.05)  # the ended backends' slots free as they exit

    async def _fill(self) -> None:
        while True:
            try:
                self.held.append(await asyncpg.connect(**self.options))
            except asyncpg.TooManyConnectionsError:
                return

    async def give_back(self) -> None:
        held, self.held = self.held, []
        for connection in held:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)


async def read_pages(client: httpx.AsyncClient, tenant: Tenant, triggers: Triggers) -> None:
    """Read run pages until cancelled: each answer is the run or a 503 in the envelope."""
    while True:
        for execution_id in triggers.ids[-5:]:
            answer = await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)
            if answer.status_code == 503:
                assert answer.json()["error_code"] == "DATABASE_BUSY", answer.text
            else:
                assert answer.status_code == 200, answer.text
        await asyncio.sleep(0.05)


async def test_runs_under_connection_starvation_end_succeeded_and_nothing_500s(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    db_url: str,
    fault_postgres: FaultPostgres,
    sink: Sink,
    worker_forks: WorkerForks,
    tmp_path: Path,
) -> None:
    refusals_before = refused_connections(fault_postgres)
    workflow_id = await publish_load(client, tenant, sink)
    triggers = Triggers(client, tenant, workflow_id)
    for _ in range(2):
        worker_forks.start(db_url, tmp_path, WEFT_DB_CONNECTIONS=WORKER_BUDGET)
    hog = Hog(db)
    stop_feeding = asyncio.Event()
    feeder = asyncio.create_task(triggers.keep_in_flight(db, 20, stop_feeding))
    reader = asyncio.create_task(read_pages(client, tenant, triggers))
    try:
        for starvation in range(MAX_STARVATIONS):
            await asyncio.sleep(2)  # runs in every state: queued, running, waiting
            await hog.take_every_slot()
            try:
                await asyncio.sleep(STARVED_FOR_S)  # the client keeps triggering meanwhile
            finally:
                await hog.give_back()
            # A fast server may win a slot back before the hog takes it, and keep it through
            # the whole starvation: starve it again until a trigger has met one.
            if starvation + 1 >= STARVATIONS and triggers.refusals[503]:
                break
        await asyncio.sleep(2)
    finally:
        stop_feeding.set()
        await feeder
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await hog.give_back()
    statuses = await wait_settled(db, triggers.ids, timeout_s=90)
    figures = await check_invariants(db, triggers, sink)
    refused = refused_connections(fault_postgres) - refusals_before

    assert statuses == {"succeeded": figures.runs}
    assert refused > 0, "the server refused no connection: the test proved little"
    assert triggers.refusals[503], "no trigger met the starvation: the test proved little"
    assert unexpected_log_lines(tmp_path, allowed=DATABASE_OUTAGE_WARNINGS) == []
    print(
        f"\nrefused connections: {refused}, triggers refused: {dict(triggers.refusals)}, {figures}"
    )


def refused_connections(server: FaultPostgres) -> int:
    """How many connections the server has refused for want of a slot (its log)."""
    log = Path(server.server.log).read_text(errors="replace")
    return log.count("too many clients")


def test_serve_refuses_more_processes_than_max_connections_allows(
    db_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "WEFT_DATABASE_URL": db_url,
        "WEFT_DATA_DIR": str(tmp_path),
        "WEFT_DB_CONNECTIONS": "16",
    }
    started = subprocess.run(
        [sys.executable, "-m", "weft", "serve", "--processes", "3", "--no-migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert started.returncode == 2, started.stdout + started.stderr
    errors = [line for line in started.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: 3 processes x 16 connections (WEFT_DB_CONNECTIONS) = 48, but PostgreSQL "
        f"allows {MAX_CONNECTIONS - 3} (max_connections {MAX_CONNECTIONS} less 3 reserved): "
        "lower WEFT_PROCESSES or WEFT_DB_CONNECTIONS, or raise max_connections"
    ]


def test_auto_starts_as_many_processes_as_fit(db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=db_url, data_dir=tmp_path, processes="auto", db_connections=10)

    count, note = fit_to_connections(settings, 8)
    fitting, quiet = fit_to_connections(settings, 2)

    assert (count, fitting, quiet) == ((MAX_CONNECTIONS - 3) // 10, 2, "")
    assert "fit PostgreSQL's max_connections" in note
