"""Sub-workflows: a parent run parked on its child is woken however the child ends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from engine.flows import BASE, execute, finished, publish
from graphs import MANUAL_START, node
from support import Tenant
from weft.engine.workers.host import Engine
from weft.store.db import Database
from weft.store.tables import Workflow

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
