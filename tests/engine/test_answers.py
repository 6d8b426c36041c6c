"""Sync callers are handed their run's answer: in-process by the runner, else by one shared read."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI

from engine.flows import BASE, publish
from graphs import node
from support import Tenant
from weft.api.deps import app_state
from weft.engine.workers import answers as answers_module
from weft.engine.workers.answers import RunAnswer
from weft.engine.workers.host import Engine, build_services
from weft.settings import Settings
from weft.store.db import Database

pytestmark = pytest.mark.integration


async def webhook_path(client: httpx.AsyncClient, tenant: Tenant, workflow_id: str) -> str:
    got = await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
    return str(got.json()["webhook_path"])


HOOK = node("1", "start", "Start", trigger="webhook", sync=True)
REPLY = node("2", "respond", "Reply", body={"n": "{{ trigger.body.n }}"})


async def test_sync_webhook_is_answered_by_the_runner_in_process(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[list[str]] = []

    async def counted(db: Database, ids: list[str]) -> list[RunAnswer]:
        reads.append(ids)
        return []

    monkeypatch.setattr(answers_module, "_answered", counted)
    app_state(app).services.answers.tick_s = 30  # the fallback never gets a turn
    path = await webhook_path(client, tenant, await publish(client, tenant, [HOOK, REPLY]))
    started = time.monotonic()
    answer = await client.post(path, json={"n": 7})
    assert answer.status_code == 200 and answer.json() == {"n": 7}
    # Left to the fallback (30 s ticks, reads stubbed to find nothing) the caller would get no
    # answer at all, failing the line above; this bound, generous for a loaded machine, only
    # keeps the test from passing on a timeout's late answer.
    assert time.monotonic() - started < 10
    assert reads == []


async def test_a_run_answered_by_another_process_is_found_by_the_shared_read(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, db: Database, settings: Settings
) -> None:
    # No worker in the API's process: a worker with its own services stands for another process,
    # so its runner's answers never reach the API's waiters directly.
    elsewhere = Engine(build_services(db, settings))
    await elsewhere.start(1, schedule=False)
    try:
        path = await webhook_path(client, tenant, await publish(client, tenant, [HOOK, REPLY]))
        answers = await asyncio.gather(*(client.post(path, json={"n": n}) for n in range(3)))
    finally:
        await elsewhere.stop(grace_s=2)
    assert [a.json() for a in answers] == [{"n": n} for n in range(3)]
