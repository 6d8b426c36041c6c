"""A paused workflow's app-trigger polls wait, and resuming polls at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fake_api import FakeApi
from fastapi import FastAPI
from sqlalchemy import update
from test_app_triggers import _charges, _make_due, _polling_workflow, _runs

from engine.flows import BASE
from support import Tenant
from weft.api.deps import app_state
from weft.clock import now
from weft.engine.starts.app_triggers import run_due_app_triggers
from weft.store.db import Database
from weft.store.tables import Workflow

pytestmark = pytest.mark.integration


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


async def test_polls_wait_while_paused_and_resume_at_once(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, db: Database
) -> None:
    services = app_state(app).services
    fake.answer("GET", "/v1/charges", _charges("ch_old"))
    workflow_id = await _polling_workflow(app, client, tenant, fake)
    await run_due_app_triggers(services)  # the baseline
    polls = len(fake.requests)

    # Paused as the engine pauses it (its failed runs are tested in engine/test_auto_pause.py).
    async with db.transaction() as session:
        await session.execute(
            update(Workflow).where(Workflow.id == workflow_id).values(paused_at=now())
        )
    fake.answer("GET", "/v1/charges", _charges("ch_old", "ch_new"))
    await _make_due(db, workflow_id)
    assert await run_due_app_triggers(services) == 0
    assert len(fake.requests) == polls and await _runs(db, workflow_id) == []

    resumed = await client.post(f"{BASE}/workflow/{workflow_id}/resume", headers=tenant.bearer)
    assert resumed.status_code == 200, resumed.text
    assert await run_due_app_triggers(services) == 1  # still due: polled at once
    assert [r.input["id"] for r in await _runs(db, workflow_id)] == ["ch_new"]
