"""Two worker processes ending one workflow's failing runs at once count every failure exactly
once, pause it once, and send `Workflow Errored` and `Workflow Paused` once each."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from engine.failing_flows import fails_when_asked, set_pause_after
from engine.flows import BASE, execute, publish
from support import Tenant, wait_until
from weft.store.db import Database
from weft.store.tables import Execution, NotificationDelivery, WorkflowFailures
from worker_processes import TERMINAL_STATUSES, start_worker, stop, unexpected_log_lines

pytestmark = pytest.mark.slow

RUNS = 40
LIMIT = 10


def banners(data_dir: Path) -> list[int]:
    return [int("loop(s) on" in p.read_text()) for p in sorted(data_dir.glob("worker-*.log"))]


def runs_ended_per_worker(data_dir: Path) -> list[int]:
    return [p.read_text().count('"run ended"') for p in sorted(data_dir.glob("worker-*.log"))]


async def test_two_workers_racing_count_each_failure_once_and_pause_once(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, db_url: str, tmp_path: Path
) -> None:
    await set_pause_after(client, tenant, LIMIT)
    events = ["Workflow Errored", "Workflow Paused"]
    body = {"webhook_url": "http://127.0.0.1:9/nobody", "webhook_events": events}
    subscribed = await client.post(f"{BASE}/webhook", json=body, headers=tenant.org_key)
    assert subscribed.status_code == 200, subscribed.text
    wf = await publish(client, tenant, *fails_when_asked())

    started = 0

    async def ended() -> bool:
        async with db.reading() as session:
            stmt = select(func.count()).where(
                Execution.workflow_id == wf, Execution.status.in_(TERMINAL_STATUSES)
            )
            return (await session.scalar(stmt)) == started

    workers = [start_worker(db_url, tmp_path) for _ in range(2)]
    try:
        # Both up before the burst, so both claim and end its runs.
        await wait_until(lambda: sum(banners(tmp_path)) == 2, timeout_s=60, what="workers up")
        # Once paused, the rest are refused; those accepted meanwhile still run and fail.
        answers = [
            (await execute(client, tenant, wf, {"fail": True})).status_code for _ in range(RUNS)
        ]
        started = answers.count(200)
        assert set(answers) <= {200, 409} and started >= LIMIT, answers
        await wait_until(ended, timeout_s=120, what="every run ended")
    finally:
        for worker in workers:
            stop(worker)
    assert unexpected_log_lines(tmp_path, allowed=["notification"]) == []

    async with db.reading() as session:
        statuses = set(
            await session.scalars(select(Execution.status).where(Execution.workflow_id == wf))
        )
        failures = await session.get(WorkflowFailures, wf)
        sent = list(
            await session.scalars(
                select(NotificationDelivery.event).where(
                    NotificationDelivery.subscription_id == subscribed.json()["_id"]
                )
            )
        )
    assert statuses == {"failed"}
    print("runs ended per worker:", runs_ended_per_worker(tmp_path), "of", started)
    assert failures is not None
    assert (failures.streak, failures.paused_streak) == (started, LIMIT)
    assert failures.errored_suppressed == started - 1  # one alert in the window, the rest held
    assert sorted(sent) == ["Workflow Errored", "Workflow Paused"]
    refused = await execute(client, tenant, wf, {})
    assert refused.status_code == 409
