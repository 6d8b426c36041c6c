"""One linked account's long code loops cannot starve another org's code steps of the pool."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI

from engine.flows import BASE, execute, finished, publish
from graphs import node
from support import Tenant, TenantFactory, wait_until
from weft.api.deps import app_state
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

START = node("1", "start", "Start", trigger="manual")
LOOP_LIMIT_MS = 30_000  # the most a code node allows


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
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: TenantFactory,
    engine: Engine,
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
    # The loops' code steps reach the pool before the other org's: one holds the account's
    # share (one of two workers), three queue behind it.
    pool = app_state(app).services.sandbox._pool
    await wait_until(lambda: pool._turns.waiting() == 3, what="the loops' code steps queueing")

    answer = await execute(client, other, trivial, {})
    done = await finished(client, other, answer.json()["execution_id"], timeout_s=60)
    assert done["status"] == "COMPLETED", done
    # The other org's step ended while every loop still runs: it never waited for a loop's
    # time limit (the bug: it queued behind the account's loops). No wall-clock bound, so a
    # busy machine cannot fail it; the loops' 30 s limit leaves it half a minute to finish.
    views = [
        (await client.get(f"{BASE}/execution/{i}", headers=tenant.bearer)).json() for i in loops
    ]
    assert all(view["status"] == "RUNNING" for view in views), views
