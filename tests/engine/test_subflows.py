"""Sub-workflows: a child runs in its parent's process while the parent waits there; a parent
parked on its child (no slot for it here) is woken however the child ends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from engine.flows import BASE, execute, finished, publish, run
from graphs import MANUAL_START, edge, node
from support import Tenant, TenantFactory, running_app, wait_until
from weft.engine.workers.host import Engine
from weft.store.db import Database
from weft.store.tables import Execution, Workflow

pytestmark = pytest.mark.integration


async def status_becomes(
    client: httpx.AsyncClient, tenant: Tenant, execution_id: str, wanted: str, timeout_s: float = 10
) -> dict[str, Any]:
    """Poll one execution until its API status is `wanted` (or the time is up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        got = (await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)).json()
        if got["status"] == wanted or loop.time() > deadline:
            return got
        await asyncio.sleep(0.02)


async def child_run_of(client: httpx.AsyncClient, tenant: Tenant, child_workflow: str) -> str:
    """The id of the (one) run of `child_workflow`, once it exists."""
    for _ in range(500):
        listed = await client.get(
            f"{BASE}/execution?workflow_id={child_workflow}", headers=tenant.bearer
        )
        docs = listed.json()["docs"]
        if docs:
            return str(docs[0]["_id"])
        await asyncio.sleep(0.02)
    raise AssertionError("the child run never started")


async def start_parent(client: httpx.AsyncClient, tenant: Tenant, child_workflow: str) -> str:
    parent = await publish(
        client,
        tenant,
        [MANUAL_START, node("2", "workflow", "Child", workflow_id=child_workflow, payload={})],
    )
    return str((await execute(client, tenant, parent)).json()["execution_id"])


async def test_cancelling_the_child_wakes_its_waiting_parent(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    child = await publish(client, tenant, [MANUAL_START, node("2", "delay", "Wait", seconds=3600)])
    parent_run = await start_parent(client, tenant, child)
    child_run = await child_run_of(client, tenant, child)
    assert (await status_becomes(client, tenant, parent_run, "WAITING"))["status"] == "WAITING"
    assert (await status_becomes(client, tenant, child_run, "WAITING"))["status"] == "WAITING"

    cancelled = await client.post(f"{BASE}/execution/{child_run}/cancel", headers=tenant.bearer)
    assert cancelled.json()["status"] == "CANCELLED"
    # Woken at once, not after the hour-long backstop: the sub-workflow step fails.
    parent = await finished(client, tenant, parent_run, timeout_s=10)
    assert parent["status"] == "FAILED", parent
    assert "cancelled" in parent["error"]["message"]


async def test_a_child_weft_could_not_run_wakes_its_waiting_parent(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, db: Database
) -> None:
    child = await publish(client, tenant, [MANUAL_START])
    # The child is pinned to a version that does not exist: Weft cannot run it (ERRORED).
    async with db.transaction() as session:
        await session.execute(
            update(Workflow).where(Workflow.id == child).values(current_version=99)
        )
    parent_run = await start_parent(client, tenant, child)
    child_run = await child_run_of(client, tenant, child)
    assert (await finished(client, tenant, child_run))["status"] == "ERRORED"
    parent = await finished(client, tenant, parent_run, timeout_s=10)
    assert parent["status"] == "FAILED", parent
    assert "errored" in parent["error"]["message"]


async def publish_loop_of_children(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """A parent that runs a child (x * 3) once per item of [1, 2, 3], and its id."""
    child = await publish(
        client,
        tenant,
        [MANUAL_START, node("2", "transform", "Triple", value="{{ trigger.x * 3 }}")],
    )
    nodes = [
        MANUAL_START,
        node("2", "loop", "Each", items="[1, 2, 3]"),
        node("3", "workflow", "Child", workflow_id=child, payload={"x": "{{ loop.item }}"}),
    ]
    return await publish(client, tenant, nodes, [edge("1", "2"), edge("2", "3", "body")])


async def attempts_of(db: Database, parent_run: str) -> tuple[int, list[int]]:
    """The parent run's claim count (attempt) and its children's, oldest child first."""
    async with db.reading() as session:
        parent = await session.scalar(select(Execution.attempt).where(Execution.id == parent_run))
        children = await session.scalars(
            select(Execution.attempt)
            .where(Execution.parent_execution_id == parent_run)
            .order_by(Execution.created_at)
        )
        return int(parent or 0), list(children)


async def test_children_run_in_the_parents_process_and_the_parent_never_parks(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, db: Database
) -> None:
    parent = await publish_loop_of_children(client, tenant)
    # The database is shared with this process's earlier tests: the worker first claims the
    # runs they left queued, and while it has a backlog it would rightly park the parent.
    worker = engine.workers[0]
    await wait_until(lambda: worker.adopting, what="the worker past earlier tests' queued runs")
    done = await run(client, tenant, parent)
    assert done["status"] == "COMPLETED", done
    assert done["output"] == [3, 6, 9]
    # Each run started once: no child was claimed from the queue, the parent never parked.
    assert await attempts_of(db, done["_id"]) == (1, [1, 1, 1])


async def test_without_a_slot_here_the_child_is_queued_and_its_parent_parks(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    # The parent holds the account's one slot: each child waits in the queue for it.
    async with running_app(settings, db, account_concurrency=1) as client:
        parent = await publish_loop_of_children(client, tenant)
        started = await execute(client, tenant, parent)
        # Generous: the worker may first take runs earlier tests left queued in this database.
        done = await finished(client, tenant, started.json()["execution_id"], timeout_s=90)
    assert done["status"] == "COMPLETED", done
    assert done["output"] == [3, 6, 9]
    # Parked on each child and claimed again when it ended; each child claimed once.
    assert await attempts_of(db, done["_id"]) == (4, [1, 1, 1])
