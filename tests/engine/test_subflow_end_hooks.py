"""A run's end hooks run once however its end commit races its children's: a parent never
waits for the backstop on a child that ended."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from engine.flows import execute, publish
from graphs import MANUAL_START, edge, node
from support import Tenant, wait_until
from weft.engine.runs import states
from weft.engine.workers.host import Engine
from weft.store.db import Database
from weft.store.tables import Execution

pytestmark = pytest.mark.slow

TREES, AT_ONCE = 200, 10


async def test_parents_of_children_with_failing_subflows_never_stall(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, db: Database
) -> None:
    failing = [MANUAL_START, node("2", "end", "Fail", status="failed")]
    broken = await publish(client, tenant, failing)
    # The child fails several sub-workflow steps at once and carries on (on_error: continue):
    # its own end commits while its children's ends and wake-ups are in flight.
    child_nodes = [
        MANUAL_START,
        node("2", "loop", "Each", items="[1, 2, 3, 4]", concurrency=4),
        node("3", "workflow", "Grandchild", workflow_id=broken, payload={}, on_error="continue"),
    ]
    child = await publish(client, tenant, child_nodes, [edge("1", "2"), edge("2", "3", "body")])
    calling = [MANUAL_START, node("2", "workflow", "Child", workflow_id=child, payload={})]
    parent = await publish(client, tenant, calling)

    async def statuses(ids: list[str]) -> list[str]:
        async with db.reading() as session:
            found = await session.scalars(select(Execution.status).where(Execution.id.in_(ids)))
            return list(found)

    ended: list[str] = []
    for _ in range(TREES // AT_ONCE):
        parents = []
        for _ in range(AT_ONCE):
            started = await execute(client, tenant, parent)
            parents.append(started.json()["execution_id"])

        async def all_ended(parents: list[str] = parents) -> bool:
            return all(status in states.TERMINAL for status in await statuses(parents))

        # Far inside the hour-long backstop a stalled parent would wait for.
        await wait_until(all_ended, timeout_s=120, what="every parent's end")
        ended += await statuses(parents)
    assert ended == [states.SUCCEEDED] * TREES
