"""Lock order on PostgreSQL: lease renewal and group commit take execution rows in one order.

A worker's heartbeat renews the leases of all its runs in one statement while its group commit
writes the steps of several runs in one transaction. If the two lock the same rows in different
orders, PostgreSQL aborts one of them as a deadlock (the crash test saw it in a third of its
runs); both now lock rows in id order.
"""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from sqlalchemy import update

from engine.flows import execute, publish
from graphs import node
from support import Tenant
from weft.engine import lifecycle, queue
from weft.store.db import Database
from weft.store.tables import Execution

pytestmark = pytest.mark.integration


@pytest.fixture
def db_url(postgres_url: str) -> str:  # SQLite has one writer at a time: no lock order to get wrong
    return postgres_url


@pytest.fixture(autouse=True)
async def empty_queue(db: Database) -> None:
    """The database is shared by the suite: retire runs other tests left queued."""
    async with db.transaction() as session:
        await session.execute(
            update(Execution)
            .where(Execution.due_at.is_not(None))
            .values(status="cancelled", due_at=None, lease_owner=None)
        )


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
    renewal: asyncio.Task[set[str]] | None = None

    async def renew_meanwhile(_session: object) -> None:
        # The heartbeat fires while the commit holds one row and has yet to write the other.
        nonlocal renewal
        renewal = asyncio.create_task(
            queue.renew_leases(db, owner="w1", ids=[first, second], lease_s=30)
        )
        # Time for the renewal to reach the rows the commit holds. On a busy machine it may come
        # later, which only makes the test weaker, never a false failure.
        await asyncio.sleep(0.3)

    writes = [
        dataclasses.replace(
            queue.step_commit(execution_id=second, owner="w1", attempt=1, steps=[], lease_s=30),
            also=renew_meanwhile,
        ),
        queue.step_commit(execution_id=first, owner="w1", attempt=1, steps=[], lease_s=30),
    ]
    async with db.transaction() as session:
        applied = await queue.apply_writes(session, writes)
    assert renewal is not None
    renewed = await asyncio.wait_for(renewal, 10)
    assert applied == [True, True]
    assert renewed == {first, second}
