"""Usage metering: each run's steps, app calls and code time land with its end, exactly once.

The counts ride on the end's group commit (no statement per step), so a run counts once, on
the day it ends; the usage API reports them by account, day or workflow, as JSON or CSV.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine as SyncEngine
from sqlalchemy import event, select, update

from engine.flows import BASE, claimed_runs, execute, publish
from engine.metered import metered_flow, run_once
from graphs import MANUAL_START, edge, node
from servers import RecordingServer, Request
from support import (
    Tenant,
    TenantFactory,
    assert_envelope,
    retire_queued_runs,
    running_app,
    wait_until,
)
from weft.clock import now
from weft.engine.interpreter.metering import RunUsage
from weft.engine.runs import lifecycle, states
from weft.engine.writes.commits import writer_for
from weft.store import raw_postgres
from weft.store.db import Database
from weft.store.tables import Execution, UsageDaily

pytestmark = pytest.mark.integration


class Echo(RecordingServer):
    def respond(self, request: Request) -> tuple[Any, ...]:
        return 200, json.loads(request.body)


def five_steps(target: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The benchmark's workflow (bench/engine.py), started by a sync webhook."""
    nodes = [
        node("1", "start", "Start", trigger="webhook", sync=True),
        node("2", "transform", "Shape", value={"double": "{{ trigger.body.n * 2 }}"}),
        node("3", "condition", "Even", expression="trigger.body.n % 2 = 0"),
        node("4", "code", "Score", source="return input.nodes.shape.double + 1"),
        node("5", "http", "Call", method="POST", url=target, body={"score": "{{ nodes.score }}"}),
        node("6", "respond", "Reply", body={"score": "{{ nodes.call.body.score }}"}),
    ]
    edges = [
        edge("1", "2"),
        edge("2", "3"),
        edge("3", "4", "true"),
        edge("3", "4", "false"),
        edge("4", "5"),
        edge("5", "6"),
    ]
    return nodes, edges


async def test_a_runs_usage_lands_with_its_end_by_account_day_and_workflow(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant("acct-meter")
    async with running_app(settings, db) as client:
        workflow_id = await metered_flow(client, tenant)
        for _ in range(2):
            await run_once(client, tenant, workflow_id)
        today = now().date().isoformat()
        usage = f"{BASE}/usage"
        by_account = (await client.get(usage, headers=tenant.org_key)).json()
        assert by_account["group_by"] == "account"
        (row,) = by_account["usage"]
        assert row["linked_account_id"] == "acct-meter"
        assert (row["runs"], row["steps"], row["action_calls"]) == (2, 8, 2)
        assert row["code_ms"] >= 0 and by_account["total"]["runs"] == 2
        by_day = await client.get(usage, params={"group_by": "day"}, headers=tenant.org_key)
        assert [(r["day"], r["runs"]) for r in by_day.json()["usage"]] == [(today, 2)]
        by_flow = await client.get(
            usage,
            params={"group_by": "workflow", "workflow": workflow_id, "from": today, "to": today},
            headers=tenant.org_key,
        )
        assert [(r["workflow_id"], r["steps"]) for r in by_flow.json()["usage"]] == [
            (workflow_id, 8)
        ]
        other = await client.get(
            usage, params={"linked_account_id": "nobody"}, headers=tenant.org_key
        )
        assert_envelope(other, 404, "LINKED_ACCOUNT_NOT_FOUND")
        backwards = await client.get(
            usage, params={"from": today, "to": "2000-01-01"}, headers=tenant.org_key
        )
        assert_envelope(backwards, 400)
        for odd in (
            {"from": "2026-13-01"},
            {"group_by": "org"},
            {"format": "xml"},
            {"linked_account_id": "x" * 201},
            {"from": "2000-01-01"},  # more than a year
        ):
            assert_envelope(await client.get(usage, params=odd, headers=tenant.org_key), 400)
        exported = await client.get(usage, headers={**tenant.org_key, "accept": "text/csv"})
        assert exported.headers["content-type"].startswith("text/csv")
        lines = exported.text.splitlines()
        assert lines[0] == "linked_account_id,runs,steps,action_calls,code_ms"
        assert lines[1].startswith("acct-meter,2,8,2,")
        assert (await client.get(usage, headers=tenant.bearer)).status_code == 401
        # Prometheus: deployment totals by count only, never a tenant's id as a label.
        scraped = (await client.get("/metrics")).text
        runs = next(
            x for x in scraped.splitlines() if x.startswith('weft_usage_today{count="runs"}')
        )
        assert float(runs.split()[-1]) >= 2
        assert tenant.org_id not in scraped and "acct-meter" not in scraped


async def test_a_five_step_run_adds_no_statement_on_postgresql_and_one_per_batch_on_sqlite(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    """The five-step benchmark's run (transform, condition, code, http, respond) is two group
    commits: before the http call (its row and 4 steps), and the end (its UPDATE and 2 steps).
    Before metering that was 4 write statements on SQLite and 2 on PostgreSQL (measured on
    main). Metering adds the usage upsert to the end's transaction: a 5th statement on SQLite,
    none on PostgreSQL (a part of the end's one statement)."""
    await retire_queued_runs(db)
    tenant = await make_tenant()
    statements: list[str] = []

    def seen(_c: Any, _cursor: Any, sql: str, _p: Any, _ctx: Any, _many: bool) -> None:
        if "rate_windows" not in sql:
            statements.append(sql.replace('"', ""))

    def seen_raw(sql: str, _arguments: Any) -> None:
        statements.append(sql.replace('"', ""))

    echo = Echo()
    # A long lease: its renewal (every third of it) would add an UPDATE to a run that happens
    # to be under way at the tick, as on a busy CI machine with the suite's 5 s lease.
    async with running_app(settings, db, poll_s=30, lease_s=600) as client:
        workflow_id = await publish(client, tenant, *five_steps(echo.url))
        got = await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
        path = got.json()["webhook_path"]
        assert (await client.post(path, json={"n": 1})).status_code == 200  # warm the caches
        event.listen(SyncEngine, "before_cursor_execute", seen)
        raw_postgres.statement_observers.append(seen_raw)
        try:
            answer = await client.post(path, json={"n": 3})
        finally:
            event.remove(SyncEngine, "before_cursor_execute", seen)
            raw_postgres.statement_observers.remove(seen_raw)
            echo.close()
    assert answer.status_code == 200 and answer.json() == {"score": 7}
    sent = [s for s in statements if not s.lstrip().upper().startswith(("SELECT", "BEGIN"))]
    if db.dialect.name == "sqlite":
        assert [s.split("(")[0].split(" SET")[0].strip() for s in sent] == [
            "INSERT INTO executions",
            "INSERT INTO steps",
            "UPDATE executions",
            "INSERT INTO steps",
            "UPDATE workflow_failures",  # the streak's reset (engine.runs.failure_streaks)
            "INSERT INTO usage_daily",
        ], sent
    else:
        first, end = sent
        assert "INSERT INTO usage_daily" not in first
        assert "INSERT INTO usage_daily" in end and "INSERT INTO steps" in end
    # The quotas are read once per org every few seconds (tenancy.quotas.QuotaBook), not per run:
    # at most once here, when that time ran out between the two runs.
    assert len([s for s in statements if "FROM quotas" in s]) <= 1, statements


async def usage_rows(db: Database, org_id: str) -> list[tuple[str, int, int, int]]:
    async with db.reading() as session:
        found = await session.execute(
            select(UsageDaily.workflow_id, UsageDaily.runs, UsageDaily.steps, UsageDaily.code_ms)
            .where(UsageDaily.org_id == org_id)
            .order_by(UsageDaily.workflow_id)
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


async def test_usage_lands_only_with_ends_whose_lease_held_and_sums_within_a_batch(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    """Three ends of one account's workflow in one group commit, one fenced out: the usage row
    gets the two that held, summed (PostgreSQL sums per row in the statement, SQLite before)."""
    await retire_queued_runs(db)
    first, lost, third = await claimed_runs(client, db, tenant, 3)
    async with db.transaction() as session:  # worker w2 took `lost` over
        await session.execute(
            update(Execution).where(Execution.id == lost.id).values(lease_owner="w2")
        )

    def ending(run: Any, steps: int, code_ms: int) -> Any:
        usage = RunUsage(steps=steps, code_ms=code_ms).row(run)
        return lifecycle.finishing(
            execution_id=run.id,
            owner="w1",
            attempt=run.attempt,
            status=states.SUCCEEDED,
            steps=[],
            usage=usage,
        )

    writes = [ending(first, 3, 5), ending(lost, 100, 100), ending(third, 4, 7)]
    assert await writer_for(db).apply(writes) == [True, False, True]
    assert await usage_rows(db, tenant.org_id) == [(first.workflow_id, 2, 7, 12)]
    # A later batch adds to the same row.
    [again] = await claimed_runs_of(db, client, tenant, first.workflow_id)
    assert await writer_for(db).apply([ending(again, 1, 0)]) == [True]
    assert await usage_rows(db, tenant.org_id) == [(first.workflow_id, 3, 8, 12)]


async def claimed_runs_of(
    db: Database, client: httpx.AsyncClient, tenant: Tenant, workflow_id: str
) -> list[Any]:
    assert (await execute(client, tenant, workflow_id)).status_code == 200
    return await lifecycle.claim_due_executions(db, owner="w1", limit=1, lease_s=30, per_account=5)


async def test_a_cancelled_run_counts_the_steps_it_committed(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant("acct-cancel")
    waits = [
        MANUAL_START,
        node("2", "transform", "Before", value=1),
        node("3", "delay", "Wait", seconds=3600),
    ]
    async with running_app(settings, db) as client:
        workflow_id = await publish(client, tenant, waits)
        started = await execute(client, tenant, workflow_id)
        execution_id = started.json()["execution_id"]
        url = f"{BASE}/execution/{execution_id}"

        async def parked() -> bool:
            got = await client.get(url, headers=tenant.bearer)
            return bool(got.json()["status"] == "WAITING")

        await wait_until(parked, what="the run parked")
        assert (await client.post(f"{url}/cancel", headers=tenant.bearer)).status_code == 200
    assert await usage_rows(db, tenant.org_id) == [(workflow_id, 1, 3, 0)]
