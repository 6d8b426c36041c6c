"""One linked account's long code loops cannot starve another org's code steps of the pool."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from engine.flows import BASE, execute, finished, publish
from graphs import node
from support import Tenant, TenantFactory
from weft.engine.host import Engine

pytestmark = pytest.mark.integration

START = node("1", "start", "Start", trigger="manual")
LOOP_LIMIT_MS = 10_000


async def _all_running(client: httpx.AsyncClient, tenant: Tenant, ids: list[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        views = [
            (await client.get(f"{BASE}/execution/{i}", headers=tenant.bearer)).json() for i in ids
        ]
        if all(view["status"] == "RUNNING" for view in views):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the loops did not start: {views}")


async def test_another_orgs_code_step_finishes_while_one_account_runs_four_long_loops(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, engine: Engine
) -> None:
    other = await make_tenant("acct-b")  # another org
    looping = await publish(
        client,
        tenant,
        [START, node("2", "code", "Spin", source="while (true) {}", timeout_ms=LOOP_LIMIT_MS)],
    )
    trivial = await publish(client, other, [START, node("2", "code", "Add", source="1 + 1")])
    # Warm the pool up, so the figure below measures waiting for a worker, not V8 starting.
    warm = await execute(client, other, trivial, {})
    assert (await finished(client, other, warm.json()["execution_id"], 60))["status"] == "COMPLETED"

    loops = [(await execute(client, tenant, looping, {})).json()["execution_id"] for _ in range(4)]
    await _all_running(client, tenant, loops)
    await asyncio.sleep(0.5)  # the loops' code steps reach the pool before the other org's

    started = time.monotonic()
    answer = await execute(client, other, trivial, {})
    done = await finished(client, other, answer.json()["execution_id"], timeout_s=30)
    took = time.monotonic() - started
    assert done["status"] == "COMPLETED", done
    assert took < 3.0, f"the other org's step waited {took:.1f} s for the code pool"
