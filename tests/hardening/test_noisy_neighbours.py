"""One trigger cannot fan out without bound: sub-workflow depth and runs per trigger are limited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from engine.flows import BASE, execute, finished
from graphs import MANUAL_START, node
from support import Tenant, running_app
from weft.settings import Settings
from weft.store.db import Database

pytestmark = pytest.mark.integration


@pytest.fixture
async def limited_app(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings, db, runs_per_trigger=6) as http:
        yield http


async def test_self_calling_workflow_stops_at_the_runs_per_trigger_limit(
    limited_app: httpx.AsyncClient, tenant: Tenant
) -> None:
    client = limited_app
    created = await client.post(f"{BASE}/workflow", json={"name": "fork"}, headers=tenant.bearer)
    workflow = created.json()["workflow"]["associated_workflow"]
    # Each run calls itself twice: unbounded, depth 8 alone would allow 511 runs.
    nodes = [
        MANUAL_START,
        node("2", "workflow", "Left", workflow_id=workflow, payload={}),
        node("3", "workflow", "Right", workflow_id=workflow, payload={}),
    ]
    edges = [{"source": "1", "target": "2"}, {"source": "2", "target": "3"}]
    saved = await client.put(
        f"{BASE}/workflow/{workflow}/draft",
        json={"nodes": nodes, "edges": edges},
        headers=tenant.bearer,
    )
    assert saved.status_code == 200, saved.text
    published = await client.put(
        f"{BASE}/workflow/{workflow}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert published.status_code == 200, published.text
    started = await execute(client, tenant, workflow, {})
    done = await finished(client, tenant, started.json()["execution_id"], timeout_s=60)
    assert done["status"] == "FAILED", done
    listed = await client.get(
        f"{BASE}/execution", params={"workflow_id": workflow, "limit": 100}, headers=tenant.bearer
    )
    assert listed.json()["totalDocs"] <= 6
    assert "RUNS_PER_TRIGGER" in str(done) and "WEFT_" not in str(done)
