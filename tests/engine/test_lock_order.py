"""Lock order on PostgreSQL: lease renewal and group commit take execution rows in one order.

A worker's heartbeat renews the leases of all its runs in one statement while its group commit
writes the steps of several runs in one statement (engine.writes.fenced_postgres). If the two lock
the same rows in different orders, PostgreSQL aborts one of them as a deadlock (the crash test saw
it in a third of its runs); both lock rows in id order.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text

from engine.flows import execute, publish
from graphs import node
from support import Tenant, retire_queued_runs
from weft.engine.runs import lifecycle, queue
from weft.engine.writes.commits import writer_for
from weft.store import raw_postgres
from weft.store.db import Database
from weft.store.tables import Execution

pytestmark = pytest.mark.integration


@pytest.fixture
def db_url(postgres_url: str) -> str:  # SQLite has one writer at a time: no lock order to get wrong
    return postgres_url


@pytest.fixture(autouse=True)
async def empty_queue(db: Database) -> None:
    """The database is shared by the suite: retire runs other tests left queued."""
    await retire_queued_runs(db)


async def test_lease_renewal_and_group_commit_in_opposite_orders_do_not_deadlock(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    workflow_id = await publish(client, tenant, [node("1", "start", "Start", trigger="manual")])
    for _ in range(2):
        await execute(client, tenant, workflow_id)
    claimed = await lifecycle.claim_due_executions(
        db, owner="w1", limit=2, lease_s=30, per_account=5
    )
    first, second = sorted(c.id for c in claimed)

    def commit(execution_id: str) -> queue.FencedWrite:
        return queue.step_commit(
            execution_id=execution_id, owner="w1", attempt=1, steps=[], lease_s=30
        )

    # A renewal holds the first run's row (renewals lock in id order) when the group commit of
    # both runs, handed over in the other order, starts; then it goes on to the second row. Had
    # the commit locked the second row first, each would wait on the other.
    async with db.transaction() as renewal:
        await queue.lock_in_id_order(renewal, Execution.id == first)
        applying = asyncio.create_task(writer_for(db).apply([commit(second), commit(first)]))
        await batch_waits_on_a_lock(db)
        await queue.lock_in_id_order(renewal, Execution.id == second)
    assert await asyncio.wait_for(applying, 30) == [True, True]


async def batch_waits_on_a_lock(db: Database) -> None:
    """Until the group commit's statement (on its own connection) waits on a row lock."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = :name AND wait_event_type = 'Lock'"
    )
    for _ in range(1000):
        async with db.reading() as session:
            if await session.scalar(waiting, {"name": raw_postgres.BATCH_APPLICATION_NAME}):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the group commit never reached the locked row")
