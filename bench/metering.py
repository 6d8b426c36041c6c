"""Metering's cost on SQLite: group commits of run ends with and without what issue 25 added to
them (the usage upsert and the failure streak's reset, engine.writes), and what a rollup from
execution rows would add instead (aggregate + mark).

    PYTHONPATH=src .venv/bin/python bench/metering.py [ends per commit, default 5]

One end per commit is a single caller's case (each run commits alone).

Process CPU time is measured (SQLite runs in the process, so it counts the database's work
too), A/B interleaved; results are in docs/operations.md ("Usage").
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text, update

from weft.app import create_app
from weft.apps.catalog import create_default_app
from weft.apps.service import prepare_database
from weft.engine.interpreter.metering import RunUsage
from weft.engine.runs import lifecycle, states
from weft.engine.runs.failure_streaks import RunOutcome
from weft.engine.writes.commits import writer_for
from weft.settings import Settings
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head
from weft.store.scope import OrgScope
from weft.store.tables import Execution
from weft.tenancy.orgs import create_org
from weft.tenancy.tokens import issue_session_token

BASE = "/api/v2/public"
BATCHES = 100
PER_BATCH = int(sys.argv[1]) if len(sys.argv) > 1 else 5  # ends per group commit
ROLLUP = """
INSERT INTO usage_daily (org_id, environment, day, linked_account_pk, workflow_id,
                         runs, steps, action_calls, code_ms)
SELECT org_id, environment, date(finished_at), linked_account_pk, workflow_id,
       count(*), count(*) * 5, 0, 0
FROM executions WHERE id IN (SELECT value FROM json_each(:ids))
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT DO UPDATE SET runs = runs + excluded.runs
"""


async def claimed_runs(client: httpx.AsyncClient, db: Database, workflow: str) -> list[Any]:
    """PER_BATCH runs of `workflow`, claimed by worker w1."""
    for _ in range(PER_BATCH):
        answer = await client.post(f"{BASE}/workflow/{workflow}/execute", json={"payload": {}})
        assert answer.status_code == 200, answer.text
    return await lifecycle.claim_due_executions(
        db, owner="w1", limit=PER_BATCH, lease_s=30, per_account=PER_BATCH
    )


async def published(client: httpx.AsyncClient) -> str:
    created = await client.post(f"{BASE}/workflow", json={"name": "bench"})
    workflow = created.json()["workflow"]["_id"]
    start = {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}}
    await client.put(f"{BASE}/workflow/{workflow}/draft", json={"nodes": [start], "edges": []})
    await client.put(f"{BASE}/workflow/{workflow}/publish", json={"published": True})
    return str(workflow)


def median_ms(samples: list[tuple[float, float]], index: int) -> float:
    return statistics.median(sample[index] for sample in samples) * 1000


async def main(url: str, data_dir: Path) -> None:
    db = Database(url)
    await prepare_database(db)
    async with db.transaction() as session:
        org = await create_org("bench", add_default_app=create_default_app, session=session)
        token = await issue_session_token(
            OrgScope(org.org.id, "test"), "a", expires_in=3600, max_expires_in=3600, session=session
        )
    settings = Settings(database_url=url, data_dir=data_dir, rate_limit_session_token=0)
    app = create_app(settings, db=db)  # no engine: the bench claims and ends the runs itself
    results: dict[str, list[tuple[float, float]]] = {"plain": [], "metered": [], "rollup": []}
    transport = httpx.ASGITransport(app=app)
    bearer = {"Authorization": f"Bearer {token.token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://weft", headers=bearer
    ) as client:
        workflow = await published(client)
        writer = writer_for(db)
        for i in range(BATCHES):
            for mode in ("plain", "metered") if i % 2 else ("metered", "plain"):
                runs = await claimed_runs(client, db, workflow)
                writes = [ending(run, mode == "metered") for run in runs]
                cpu, wall = time.process_time(), time.perf_counter()
                assert all(await writer.apply(writes))
                results[mode].append((time.process_time() - cpu, time.perf_counter() - wall))
                if mode == "plain":  # what a rollup would do later for these runs
                    ids = json.dumps([run.id for run in runs])
                    cpu, wall = time.process_time(), time.perf_counter()
                    async with db.transaction() as session:
                        await session.execute(text(ROLLUP), {"ids": ids})
                        await session.execute(  # marking them rolled up: a write per run row
                            update(Execution)
                            .where(Execution.id.in_([run.id for run in runs]))
                            .values(attempt=Execution.attempt)
                        )
                    results["rollup"].append(
                        (time.process_time() - cpu, time.perf_counter() - wall)
                    )
    for mode, samples in results.items():
        print(
            f"{mode:8s} {len(samples)} commits of {PER_BATCH} ends: CPU median "
            f"{median_ms(samples, 0):.2f} ms, wall median {median_ms(samples, 1):.2f} ms"
        )
    await db.dispose()


def ending(run: Any, metered: bool) -> Any:
    usage = RunUsage(steps=5).row(run) if metered else None
    outcome = RunOutcome(run.workflow_id, run.org_id, run.id, failed=False) if metered else None
    return lifecycle.finishing(
        execution_id=run.id,
        owner="w1",
        attempt=run.attempt,
        status=states.SUCCEEDED,
        steps=[],
        usage=usage,
        outcome=outcome,
    )


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp())
    database = f"sqlite+aiosqlite:///{folder / 'weft.db'}"
    upgrade_to_head(database)  # before the loop: the migrations run one of their own
    asyncio.run(main(database, folder))
