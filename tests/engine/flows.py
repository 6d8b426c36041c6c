"""Helpers to build, publish and run workflows through the public API, as a client would."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from graphs import MANUAL_START, chain
from support import Tenant
from weft.engine.runs import lifecycle, queue
from weft.store.db import Database

BASE = "/api/v2/public"
TERMINAL = {"COMPLETED", "FAILED", "ERRORED", "CANCELLED"}


async def create_draft(
    client: httpx.AsyncClient,
    tenant: Tenant,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]] | None = None,
    name: str = "flow",
    slug: str | None = None,
) -> str:
    """Create a workflow (of app `slug`, if given) and save `nodes` (chained by default)."""
    body = {"name": name, **({"slug": slug} if slug else {})}
    created = await client.post(f"{BASE}/workflow", json=body, headers=tenant.bearer)
    assert created.status_code == 200, created.text
    workflow_id = str(created.json()["workflow"]["associated_workflow"])
    graph = {"nodes": nodes, "edges": edges if edges is not None else chain(*nodes)}
    saved = await client.put(
        f"{BASE}/workflow/{workflow_id}/draft", json=graph, headers=tenant.bearer
    )
    assert saved.status_code == 200, saved.text
    return workflow_id


async def publish(
    client: httpx.AsyncClient,
    tenant: Tenant,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]] | None = None,
    name: str = "flow",
) -> str:
    """Create, save and publish a workflow; its id."""
    workflow_id = await create_draft(client, tenant, nodes, edges, name)
    published = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert published.status_code == 200, published.text
    return workflow_id


async def execute(
    client: httpx.AsyncClient,
    tenant: Tenant,
    workflow_id: str,
    payload: Any = None,
    **headers: str,
) -> httpx.Response:
    return await client.post(
        f"{BASE}/workflow/{workflow_id}/execute",
        json={"payload": payload},
        headers={**tenant.bearer, **headers},
    )


async def finished(
    client: httpx.AsyncClient, tenant: Tenant, execution_id: str, timeout_s: float = 15
) -> dict[str, Any]:
    """Poll the execution API until the run ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        got = await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)
        body = got.json()
        if body["status"] in TERMINAL or loop.time() > deadline:
            return body
        await asyncio.sleep(0.02)


async def run(
    client: httpx.AsyncClient, tenant: Tenant, workflow_id: str, payload: Any = None
) -> dict[str, Any]:
    started = await execute(client, tenant, workflow_id, payload)
    assert started.status_code == 200, started.text
    return await finished(client, tenant, started.json()["execution_id"])


def step(execution: dict[str, Any], node_id: str, iteration: str = "") -> dict[str, Any]:
    matches = [
        n for n in execution["nodes"] if n["node_id"] == node_id and n["iteration"] == iteration
    ]
    assert len(matches) == 1, execution["nodes"]
    return matches[0]


async def claimed_runs(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, count: int
) -> list[queue.Claimed]:
    """`count` runs of a one-node workflow, claimed by worker w1."""
    wf = await publish(client, tenant, [MANUAL_START])
    for _ in range(count):
        await execute(client, tenant, wf)
    claimed = await lifecycle.claim_due_executions(
        db, owner="w1", limit=count, lease_s=30, per_account=5
    )
    assert len(claimed) == count
    return claimed
