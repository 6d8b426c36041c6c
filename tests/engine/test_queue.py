"""The queue itself: fair claims across linked accounts, the per-account limit, releases."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update

from engine.flows import claimed_runs, execute, finished, publish
from engine.sink import Sink
from graphs import MANUAL_START, node
from support import Tenant, TenantFactory, retire_queued_runs, wait_until
from weft import clock
from weft.api.deps import app_state
from weft.clock import now
from weft.engine.runs import lifecycle, queue
from weft.engine.runs.retention import prune_finished_executions
from weft.engine.workers.host import Engine, build_services
from weft.engine.writes.commits import GroupCommit, writer_for
from weft.store import raw_postgres
from weft.store.db import Database
from weft.store.tables import Execution, Step

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def empty_queue(db: Database) -> None:
    """The database is shared by the suite: retire runs other tests left queued."""
    await retire_queued_runs(db)


async def test_claims_are_fair_across_accounts_and_respect_the_account_limit(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    busy, quiet = tenant, await make_tenant(account_id="quiet", org_id=tenant.org_id)
    busy_wf = await publish(client, busy, [MANUAL_START])
    quiet_wf = await publish(client, quiet, [MANUAL_START])
    busy_runs = [(await execute(client, busy, busy_wf)).json()["execution_id"] for _ in range(6)]
    quiet_runs = [(await execute(client, quiet, quiet_wf)).json()["execution_id"] for _ in range(2)]
    claimed = await lifecycle.claim_due_executions(
        db, owner="w1", limit=4, lease_s=30, per_account=2
    )
    ids = {c.id for c in claimed}
    # Round-robin: the quiet account is not starved by the busy one's earlier backlog.
    assert len(ids & set(quiet_runs)) == 2 and len(ids & set(busy_runs)) == 2
    more = await lifecycle.claim_due_executions(db, owner="w2", limit=10, lease_s=30, per_account=2)
    # Both accounts are at their limit of two running executions: nothing more is claimed.
    assert more == []


async def test_expired_leases_are_claimed_again(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    wf = await publish(client, tenant, [MANUAL_START])
    execution_id = (await execute(client, tenant, wf)).json()["execution_id"]
    first = await lifecycle.claim_due_executions(db, owner="w1", limit=1, lease_s=5, per_account=5)
    assert [c.id for c in first] == [execution_id] and first[0].attempt == 1
    with lease_lapsed(5):
        second = await lifecycle.claim_due_executions(
            db, owner="w2", limit=1, lease_s=30, per_account=5
        )
        assert [c.id for c in second] == [execution_id] and second[0].attempt == 2
        renewed = await queue.renew_leases(db, owner="w1", ids=[execution_id], lease_s=30)
    assert renewed == set()  # the old owner lost it and will write nothing more


@contextlib.contextmanager
def lease_lapsed(lease_s: float) -> Iterator[None]:
    """The clock a moment past a lease of `lease_s` taken now (frozen there inside the block)."""
    clock.freeze(now() + timedelta(seconds=lease_s + 1))
    try:
        yield
    finally:
        clock.freeze(None)


async def test_a_worker_that_claims_its_own_run_again_fences_out_its_first_claim(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # A stalled worker's lease expires and the same worker claims the run again: the first
    # claim's writes must not land, or both claims would run (and commit) the same steps.
    wf = await publish(client, tenant, [MANUAL_START])
    execution_id = (await execute(client, tenant, wf)).json()["execution_id"]
    first = await lifecycle.claim_due_executions(db, owner="w1", limit=1, lease_s=5, per_account=5)
    with lease_lapsed(5):
        again = await lifecycle.claim_due_executions(
            db, owner="w1", limit=1, lease_s=30, per_account=5
        )
    assert [c.attempt for c in first + again] == [1, 2]

    def commit(attempt: int) -> queue.FencedWrite:
        return queue.step_commit(
            execution_id=execution_id, owner="w1", attempt=attempt, steps=[], lease_s=30
        )

    # Both land in one group commit (one shared update, on SQLite), which must tell them apart.
    commits = GroupCommit(writer_for(db))
    outcomes = await asyncio.gather(
        commits.write(commit(1)), commits.write(commit(2)), return_exceptions=True
    )
    assert isinstance(outcomes[0], queue.LeaseLost) and outcomes[1] is None, outcomes


async def test_graceful_stop_releases_runs_in_flight_to_another_worker(
    app: FastAPI, client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    sink = Sink()
    try:
        slow = node("2", "http", "Slow", url=sink.url + "/slow/1500/stop")
        wf = await publish(client, tenant, [MANUAL_START, slow])
        execution_id = (await execute(client, tenant, wf)).json()["execution_id"]
        first = Engine(build_services(db, app_state(app).settings))
        await first.start(1, schedule=False)
        await wait_until(lambda: sink.calls["/slow/1500/stop"], what="the slow call")
        await first.stop(grace_s=0.1)
        async with db.reading() as session:
            row = await session.scalar(select(Execution).where(Execution.id == execution_id))
        assert row.status == "running" and row.lease_owner is None  # released, due now
        second = Engine(build_services(db, app_state(app).settings))
        await second.start(1, schedule=False)
        try:
            done = await finished(client, tenant, execution_id)
        finally:
            await second.stop()
        assert done["status"] == "COMPLETED" and done["attempt"] == 2
    finally:
        sink.close()


async def test_retention_prunes_old_finished_runs_and_their_steps_only(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [MANUAL_START])
    old = await finished(client, tenant, (await execute(client, tenant, wf)).json()["execution_id"])
    recent = await finished(
        client, tenant, (await execute(client, tenant, wf)).json()["execution_id"]
    )
    async with db.transaction() as session:
        await session.execute(
            update(Execution)
            .where(Execution.id == old["_id"])
            .values(finished_at=now() - timedelta(days=40))
        )
    removed = await prune_finished_executions(db, keep_days=30)
    assert removed.runs >= 1
    gone = await client.get(f"/api/v2/public/execution/{old['_id']}", headers=tenant.bearer)
    assert gone.status_code == 404
    kept = await client.get(f"/api/v2/public/execution/{recent['_id']}", headers=tenant.bearer)
    assert kept.status_code == 200 and kept.json()["nodes"]
    async with db.reading() as session:
        orphans = await session.scalar(
            select(func.count()).select_from(Step).where(Step.execution_id == old["_id"])
        )
    assert orphans == 0


async def test_a_group_commit_after_its_connection_was_dropped_lands_on_a_new_one(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # A database restart drops every pooled connection while it sits idle: the next commit
    # must not fail on a dead one (on PostgreSQL, batches have connections of their own).
    first, second = await claimed_runs(client, db, tenant, 2)
    commits = GroupCommit(writer_for(db))

    def commit(run: queue.Claimed) -> queue.FencedWrite:
        return queue.step_commit(
            execution_id=run.id, owner="w1", attempt=run.attempt, steps=[], lease_s=30
        )

    await commits.write(commit(first))
    if db.dialect.name == "postgresql":
        async with db.transaction() as session:
            dropped = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": raw_postgres.BATCH_APPLICATION_NAME},
            )
        assert dropped == 1
        await asyncio.sleep(0.2)  # the socket's end reaches the event loop
    await commits.write(commit(second))
    async with db.reading() as session:
        assert await session.scalar(
            select(Execution.due_at).where(Execution.id == second.id)
        ) > now() + timedelta(seconds=20)
