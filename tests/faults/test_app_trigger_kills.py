"""App triggers under `kill -9` on PostgreSQL: every new polled item and every webhook event
starts exactly one run, while the processes polling or receiving them are killed mid-flight.

- Polling: three `weft worker` processes poll a slow fake API; the one holding the poll's
  lease is killed while its call or commit is in flight, and replaced. Items keep arriving.
- Webhooks: two `weft api` processes take signed deliveries; one is killed now and then and
  replaced. A delivery without a 202 is sent again (as every app does), some accepted ones
  are redelivered too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from engine.flows import BASE, create_draft
from graphs import node
from servers import RecordingServer, Request
from support import Tenant, wait_until
from weft.api.deps import app_state
from weft.apps.connections import save_keybased_connection
from weft.clock import now
from weft.store.db import Database
from weft.store.scope import account_scope
from weft.store.tables import AppTrigger, Execution, LinkedAccount
from worker_processes import WorkerForks, free_port, owner_pid

pytestmark = pytest.mark.slow

SIGNING = "acme-signing-secret"
KILLS = 6
ITEMS = 60
EVENTS = 80


class ItemsApi(RecordingServer):
    """A slow list endpoint: `GET /items` answers the newest 50 items, newest first."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.calls_in_flight = 0
        super().__init__()

    def add(self, count: int) -> None:
        with self.lock:
            start = len(self.items)
            self.items += [{"id": f"it_{i}", "n": i} for i in range(start, start + count)]

    def respond(self, request: Request) -> tuple[int, Any]:
        with self.lock:
            newest = list(reversed(self.items[-50:]))
            self.calls_in_flight += 1
        time.sleep(0.15)  # the call is in flight long enough for a kill to land in it
        with self.lock:
            self.calls_in_flight -= 1
        return 200, {"items": newest}


@pytest.fixture
def api() -> Iterator[ItemsApi]:
    server = ItemsApi()
    yield server
    server.close()


def _definition(base_url: str) -> dict[str, Any]:
    return {
        "slug": "acme",
        "name": "Acme",
        "auth": {
            "type": "keybased",
            "fields": [
                {"name": "api_key", "label": "Key"},
                {"name": "webhook_secret", "label": "Signing secret"},
            ],
            "headers": {"X-Acme-Key": "{api_key}"},
        },
        "base_url": base_url,
        "actions": [
            {"name": "list_items", "label": "List", "method": "GET", "path": "/items",
             "effect": "read"},
        ],
        "triggers": [
            {"kind": "polling", "name": "new_item", "label": "New item", "action": "list_items",
             "items": "items", "dedupe_key": "id", "interval_s": 30},
            {"kind": "webhook", "name": "event", "label": "Event",
             "signature": {"header": "X-Acme-Signature", "prefix": "sha256=",
                           "secret": {"connection_field": "webhook_secret"}},
             "event_id_header": "X-Acme-Delivery"},
        ],
    }  # fmt: skip


async def _workflow_on(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, base_url: str, trigger: str
) -> str:
    defined = await client.post(
        f"{BASE}/application", json=_definition(base_url), headers=tenant.org_key
    )
    assert defined.status_code == 200, defined.text
    db = app_state(app).db
    async with db.transaction() as session:
        account = await session.scalar(
            select(LinkedAccount).where(
                LinkedAccount.org_id == tenant.org_id,
                LinkedAccount.account_id == tenant.account_id,
            )
        )
        await save_keybased_connection(
            account_scope(account),
            "acme",
            {"api_key": "k", "webhook_secret": SIGNING},
            session=session,
            settings=app_state(app).settings,
        )
    start = node("1", "start", "Start", trigger="app", app="acme", app_trigger=trigger)
    nodes = [start, node("2", "transform", "Item", value="{{ trigger }}")]
    workflow_id = await create_draft(client, tenant, nodes)
    published = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert published.status_code == 200, published.text
    return workflow_id


async def _row(db: Database, workflow_id: str) -> AppTrigger | None:
    async with db.reading() as session:
        return await session.scalar(select(AppTrigger).where(AppTrigger.workflow_id == workflow_id))


async def _feed(api: ItemsApi, count: int) -> None:
    """One new item every 0.3 s: a poll held up by a kill (a lease, 6 s) still finds them all
    among the newest 50 the API lists."""
    for _ in range(count):
        api.add(1)
        await asyncio.sleep(0.3)


async def _polled_since(db: Database, workflow_id: str, moment: Any) -> bool:
    row = await _row(db, workflow_id)
    return row is not None and row.lease_owner is None and row.updated_at > moment


async def _run_keys(db: Database, workflow_id: str) -> list[str]:
    async with db.reading() as session:
        stmt = select(Execution.idempotency_key).where(Execution.workflow_id == workflow_id)
        return [str(key) for key in await session.scalars(stmt)]


async def _pace(db: Database, workflow_id: str, stop_pacing: asyncio.Event) -> None:
    """Make the idle poll due again at once (the declared minimum interval is 30 s)."""
    while not stop_pacing.is_set():
        async with db.transaction() as session:
            await session.execute(
                update(AppTrigger)
                .where(AppTrigger.workflow_id == workflow_id, AppTrigger.lease_owner.is_(None))
                .values(due_at=now())
            )
        await asyncio.sleep(0.1)


async def test_polled_items_start_one_run_each_while_pollers_are_killed(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    db_url: str,
    api: ItemsApi,
    worker_forks: WorkerForks,
    tmp_path: Path,
) -> None:
    chance = random.Random(19)
    api.add(5)  # there before the workflow: the baseline, never fired
    workflow_id = await _workflow_on(app, client, tenant, api.url, "new_item")
    workers = [worker_forks.start(db_url, tmp_path) for _ in range(3)]
    stop_pacing = asyncio.Event()
    pacer = asyncio.create_task(_pace(db, workflow_id, stop_pacing))
    try:

        async def primed() -> bool:
            row = await _row(db, workflow_id)
            return row is not None and bool(row.state.get("primed"))

        await wait_until(primed, 60, "the baseline poll")
        feeder = asyncio.create_task(_feed(api, ITEMS))
        kills = 0
        while kills < KILLS:
            row = await _row(db, workflow_id)
            pid = owner_pid(row.lease_owner if row else None)
            if pid in workers and api.calls_in_flight:
                await asyncio.sleep(chance.uniform(0, 0.2))  # in the call, or in the commit
                killed_at = now()
                await asyncio.to_thread(worker_forks.kill, pid)
                kills += 1
                workers[workers.index(pid)] = worker_forks.start(db_url, tmp_path)
                # The next kill only after a poll got through: were none to commit for longer
                # than the API's one page (50 items) takes to fill, items would scroll away
                # unseen (there is no pagination yet), which is not what this test is about.
                await wait_until(partial(_polled_since, db, workflow_id, killed_at), 60)
            await asyncio.sleep(0.05)
        await feeder
        wanted = {f"poll:{workflow_id}:it_{i}" for i in range(5, len(api.items))}

        async def all_fired() -> bool:
            return set(await _run_keys(db, workflow_id)) >= wanted

        await wait_until(all_fired, 120, "a run for every new item")
        polls = len(api.received)
        await wait_until(lambda: len(api.received) >= polls + 3, 60, "three more polls")
    finally:
        stop_pacing.set()
        await pacer
    keys = await _run_keys(db, workflow_id)
    assert sorted(keys) == sorted(wanted)  # one run each, none for the baseline


def _signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SIGNING.encode(), body, hashlib.sha256).hexdigest()


async def test_webhook_events_start_one_run_each_while_receivers_are_killed(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    db_url: str,
    tmp_path: Path,
    worker_forks: WorkerForks,
) -> None:
    chance = random.Random(91)
    workflow_id = await _workflow_on(app, client, tenant, "http://127.0.0.1:9", "event")
    shown = await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
    path = shown.json()["webhook_path"]
    ports = [free_port(), free_port()]
    # One process each: SIGKILL then kills the process holding the deliveries (a killed
    # supervisor's children would stop gracefully). Forked from a process that imported Weft:
    # eight cold starts took ~40 s of this test on a busy machine.
    receiver = partial(worker_forks.start_api, db_url, tmp_path, WEFT_PROCESSES="1")
    servers = [receiver(port) for port in ports]
    accepted: dict[str, str] = {}
    sent = 0
    killing = True

    async def deliver(http: httpx.AsyncClient, event: int) -> None:
        body = json.dumps({"id": f"evt_{event}", "n": event}).encode()
        headers = {"x-acme-delivery": f"evt_{event}", "x-acme-signature": _signed(body)}
        while True:  # as an app does: again until a 2xx
            port = chance.choice(ports)
            try:
                answer = await http.post(f"http://127.0.0.1:{port}{path}", content=body,
                                         headers=headers)  # fmt: skip
            except httpx.TransportError:
                await asyncio.sleep(0.05)
                continue
            if answer.status_code == 202:
                break
            assert answer.status_code >= 500, answer.text  # never a 4xx for a good delivery
            await asyncio.sleep(0.05)
        first = accepted.setdefault(f"evt_{event}", answer.json()["execution_id"])
        assert answer.json()["execution_id"] == first

    async def deliverer(http: httpx.AsyncClient) -> None:
        nonlocal sent
        while killing or sent < EVENTS:  # events keep coming while receivers die
            event, sent = sent, sent + 1
            await deliver(http, event)
            if chance.random() < 0.3:
                await deliver(http, event)  # a redelivery of an accepted event
            # Six deliverers at this pace keep a delivery in flight most of the time; faster,
            # they sent ~2,000 events whose runs slowed every restart to 15-40 s on a busy box.
            await asyncio.sleep(chance.uniform(0.1, 0.3))

    async def killer() -> None:
        nonlocal killing
        for _ in range(KILLS):
            await asyncio.sleep(chance.uniform(0.3, 1.0))
            victim = chance.randrange(len(servers))
            await asyncio.to_thread(worker_forks.kill, servers[victim])
            ports[victim] = free_port()
            servers[victim] = await asyncio.to_thread(receiver, ports[victim])
        killing = False

    async with httpx.AsyncClient(timeout=10) as http:
        await asyncio.gather(killer(), *(deliverer(http) for _ in range(6)))
    keys = await _run_keys(db, workflow_id)  # the fixture kills the receivers left
    assert sorted(keys) == sorted(f"hook:{workflow_id}:evt_{i}" for i in range(sent))
    assert len(accepted) == sent >= EVENTS
