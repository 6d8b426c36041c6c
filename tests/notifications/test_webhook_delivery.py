"""Delivery of notifications: signed, durable, retried with backoff, refused where guarded."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from notification_sink import NotificationSink
from sqlalchemy import func, select

from support import Tenant, record_outbound_dials
from weft.engine.runs import states
from weft.engine.workers.host import Engine
from weft.net import OutboundClient, OutboundPolicy
from weft.notifications import NotificationDispatcher, enqueue_run_notifications
from weft.notifications.outbox import claim_due_deliveries, notify_run_finished
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import NotificationDelivery

pytestmark = pytest.mark.integration

DispatcherFactory = Callable[..., NotificationDispatcher]

BASE = "/api/v2/public"


@pytest.fixture(scope="module")
def sink() -> Iterator[NotificationSink]:
    server = NotificationSink()
    yield server
    server.close()


@pytest.fixture
async def start_dispatcher(db: Database, settings: Settings) -> AsyncIterator[DispatcherFactory]:
    """Start dispatchers with millisecond backoff; all are stopped after the test."""
    running: list[tuple[NotificationDispatcher, asyncio.Task[None], OutboundClient]] = []

    def start(**options: Any) -> NotificationDispatcher:
        client = OutboundClient(OutboundPolicy.parse(settings.outbound_allow))
        options = {"base_delay_s": 0.01, "max_delay_s": 0.05, "poll_s": 0.02, **options}
        dispatcher = NotificationDispatcher(db, client, settings, **options)
        running.append((dispatcher, asyncio.create_task(dispatcher.run()), client))
        return dispatcher

    yield start
    for dispatcher, task, client in running:
        await dispatcher.stop(grace_s=2)
        await task
        await client.aclose()


async def subscribe(
    client: httpx.AsyncClient, tenant: Tenant, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    body = {"webhook_url": url, "webhook_events": events or ["Workflow Completed"]}
    created = await client.post(f"{BASE}/webhook", json=body, headers=tenant.org_key)
    assert created.status_code == 200, created.text
    return dict(created.json())


async def enqueue(db: Database, tenant: Tenant, status: str = "succeeded", **ids: str) -> int:
    """Queue what a run ending in `status` notifies, as the engine's end-of-run hook does."""
    event = states.NOTIFIED_EVENTS.get(status)
    if event is None:
        return 0
    async with db.transaction() as session:
        return await enqueue_run_notifications(
            session,
            org_id=tenant.org_id,
            environment="test",
            linked_account_id=tenant.account_id,
            workflow_id=ids.get("workflow_id", "wf-1"),
            execution_id=ids.get("execution_id", "ex-1"),
            event=event,
            status=states.API_STATUS[status],
        )


async def deliveries(db: Database, subscription_id: str) -> list[NotificationDelivery]:
    async with db.transaction() as session:
        stmt = select(NotificationDelivery).where(
            NotificationDelivery.subscription_id == subscription_id
        )
        return list(await session.scalars(stmt.order_by(NotificationDelivery.id)))


async def settled(db: Database, subscription_id: str, count: int = 1) -> list[NotificationDelivery]:
    """Wait until the subscription's deliveries are all delivered or failed."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        rows = await deliveries(db, subscription_id)
        done = len(rows) == count and all(row.status != "pending" for row in rows)
        if done or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.02)


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def test_delivery_reaches_the_receiver_signed_with_the_secret(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    sink: NotificationSink,
    start_dispatcher: DispatcherFactory,
) -> None:
    path = f"/hook/{tag()}"
    hook = await subscribe(client, tenant, sink.url + path)
    assert await enqueue(db, tenant, workflow_id="wf-9", execution_id="ex-9") == 1
    start_dispatcher()
    [row] = await settled(db, hook["_id"])
    assert (row.status, row.attempts, row.last_error, row.due_at) == ("delivered", 1, None, None)

    [got] = sink.received_at(path)
    expected = hmac.new(hook["secret"].encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-cobalt-signature"], expected)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-weft-event"] == "Workflow Completed"
    assert got.headers["x-weft-delivery-id"] == row.id
    payload = got.json()
    assert payload == {
        **payload,
        "event": "Workflow Completed",
        "delivery_id": row.id,
        "org_id": tenant.org_id,
        "environment": "test",
        "linked_account_id": tenant.account_id,
        "workflow_id": "wf-9",
        "execution_id": "ex-9",
        "status": "COMPLETED",
    }
    assert payload["timestamp"].endswith("Z")


async def test_each_outcome_reaches_only_the_enabled_webhooks_that_want_it(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    completed = await subscribe(client, tenant, "https://a.example.com", ["Workflow Completed"])
    errored = await subscribe(client, tenant, "https://b.example.com", ["Workflow Errored"])
    off = {"url": "https://c.example.com", "events": ["Workflow Errored"], "is_enabled": False}
    disabled = (await client.post(f"{BASE}/webhook", json=off, headers=tenant.org_key)).json()

    assert await enqueue(db, tenant, "failed") == 1
    assert await enqueue(db, tenant, "errored") == 1
    assert await enqueue(db, tenant, "cancelled") == 0
    assert await enqueue(db, tenant, "succeeded") == 1
    assert [r.payload["status"] for r in await deliveries(db, errored["_id"])] == [
        "FAILED",
        "ERRORED",
    ]
    assert [r.event for r in await deliveries(db, completed["_id"])] == ["Workflow Completed"]
    assert await deliveries(db, disabled["_id"]) == []


async def test_receiver_failing_twice_is_retried_until_delivered(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    sink: NotificationSink,
    start_dispatcher: DispatcherFactory,
) -> None:
    path = f"/flaky/3/{tag()}"
    hook = await subscribe(client, tenant, sink.url + path)
    await enqueue(db, tenant)
    start_dispatcher()
    [row] = await settled(db, hook["_id"])
    assert (row.status, row.attempts) == ("delivered", 3)
    calls = sink.received_at(path)
    assert [c.headers["x-weft-attempt"] for c in calls] == ["1", "2", "3"]
    # Every attempt carries the same delivery id, body and signature: receivers can dedupe.
    assert len({(c.headers["x-weft-delivery-id"], c.body) for c in calls}) == 1


async def test_permanently_failing_receiver_ends_failed_after_max_attempts(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    sink: NotificationSink,
    start_dispatcher: DispatcherFactory,
) -> None:
    path = f"/status/500/{tag()}"
    hook = await subscribe(client, tenant, sink.url + path)
    await enqueue(db, tenant)
    start_dispatcher(max_attempts=4)
    [row] = await settled(db, hook["_id"])
    assert (row.status, row.attempts, row.due_at) == ("failed", 4, None)
    assert row.last_error is not None and row.last_error.startswith("HTTP 500")
    assert len(sink.received_at(path)) == 4


async def test_blocked_destination_fails_at_once_without_being_contacted(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    start_dispatcher: DispatcherFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dials = record_outbound_dials(monkeypatch)
    hook = await subscribe(client, tenant, "http://10.0.0.1:8080/hook")
    await enqueue(db, tenant)
    start_dispatcher()
    [row] = await settled(db, hook["_id"])
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error is not None and "private (RFC 1918) address" in row.last_error
    assert "OUTBOUND_BLOCKED" in row.last_error
    assert dials == []


async def test_concurrent_dispatchers_deliver_each_notification_once(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    sink: NotificationSink,
    start_dispatcher: DispatcherFactory,
) -> None:
    path = f"/hook/{tag()}"
    hook = await subscribe(client, tenant, sink.url + path)
    for n in range(30):
        await enqueue(db, tenant, execution_id=f"ex-{n}")
    for _ in range(3):
        start_dispatcher(concurrency=4)
    rows = await settled(db, hook["_id"], count=30)
    assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}
    received = sorted(c.json()["execution_id"] for c in sink.received_at(path))
    assert received == sorted(f"ex-{n}" for n in range(30))


async def test_claim_abandoned_by_a_crashed_dispatcher_is_sent_after_its_lease(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    sink: NotificationSink,
    start_dispatcher: DispatcherFactory,
) -> None:
    path = f"/hook/{tag()}"
    hook = await subscribe(client, tenant, sink.url + path)
    await enqueue(db, tenant)
    # A dispatcher claims the row and dies before sending: nothing records the attempt.
    claimed_at = time.time()
    [abandoned] = await claim_due_deliveries(db, limit=10, lease_s=1.0)
    start_dispatcher()
    [row] = await settled(db, hook["_id"])
    assert (row.id, row.status, row.attempts) == (abandoned.id, "delivered", 2)
    # Sent only once the lease ended (its arrival time says so, however busy the machine);
    # the 50 ms allow for the millisecond clock the lease is written with.
    [received] = sink.received_at(path)
    assert received.at >= claimed_at + 1.0 - 0.05


async def test_deleting_a_webhook_drops_its_pending_deliveries(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    hook = await subscribe(client, tenant, "https://a.example.com")
    await enqueue(db, tenant)
    await client.delete(f"{BASE}/webhook/{hook['_id']}", headers=tenant.org_key)
    async with db.transaction() as session:
        left = await session.scalar(
            select(func.count()).where(NotificationDelivery.subscription_id == hook["_id"])
        )
    assert left == 0


async def test_secret_sealed_under_another_key_fails_the_delivery_with_the_reason(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    settings: Settings,
    sink: NotificationSink,
    start_dispatcher: DispatcherFactory,
) -> None:
    path = f"/hook/{tag()}"
    hook = await subscribe(client, tenant, sink.url + path)
    await enqueue(db, tenant)
    other_key = settings.model_copy(update={"secret_key": "a different deployment key"})
    client_ = OutboundClient(OutboundPolicy.parse(settings.outbound_allow))
    dispatcher = NotificationDispatcher(db, client_, other_key, poll_s=0.02)
    task = asyncio.create_task(dispatcher.run())
    try:
        [row] = await settled(db, hook["_id"])
    finally:
        await dispatcher.stop()
        await task
        await client_.aclose()
    assert row.status == "failed" and "WEFT_SECRET_KEY" in (row.last_error or "")
    assert sink.received_at(path) == []


async def test_backoff_doubles_with_jitter_up_to_the_cap(settings: Settings, db: Database) -> None:
    async with OutboundClient() as outbound:
        dispatcher = NotificationDispatcher(
            db, outbound, settings, base_delay_s=1.0, max_delay_s=8.0
        )
    for attempts, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (7, 8.0)]:
        delays = [dispatcher.backoff_s(attempts) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays), (attempts, delays)
        assert len(set(delays)) > 1


async def test_finished_run_notifies_with_the_linked_account_and_error(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    engine: Engine,
    sink: NotificationSink,
    start_dispatcher: DispatcherFactory,
) -> None:
    start = {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}}
    stop = {"id": "2", "type": "end", "name": "Stop", "data": {"status": "failed"}}
    created = await client.post(f"{BASE}/workflow", json={"name": "n"}, headers=tenant.bearer)
    wf = created.json()["workflow"]["associated_workflow"]
    graph = {"nodes": [start, stop], "edges": [{"source": "1", "target": "2"}]}
    await client.put(f"{BASE}/workflow/{wf}/draft", json=graph, headers=tenant.bearer)
    await client.put(
        f"{BASE}/workflow/{wf}/publish", json={"published": True}, headers=tenant.bearer
    )
    started = await client.post(f"{BASE}/workflow/{wf}/execute", json={}, headers=tenant.bearer)
    execution_id = started.json()["execution_id"]
    for _ in range(500):
        run = (await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)).json()
        if run["status"] == "FAILED":
            break
        await asyncio.sleep(0.02)
    assert run["status"] == "FAILED", run

    # Subscribed only now, so the engine (if already wired) has notified nobody for this run.
    path = f"/hook/{tag()}"
    hook = await subscribe(client, tenant, sink.url + path, ["Workflow Errored"])
    claimed = SimpleNamespace(
        id=execution_id, org_id=tenant.org_id, environment="test", workflow_id=wf, is_test=False
    )
    assert (
        await notify_run_finished(
            db, SimpleNamespace(**{**vars(claimed), "is_test": True}), "Workflow Errored", "FAILED"
        )
        == 0
    )
    assert await notify_run_finished(db, claimed, "Workflow Errored", "FAILED") == 1
    start_dispatcher()
    [row] = await settled(db, hook["_id"])
    assert row.status == "delivered"
    [got] = sink.received_at(path)
    payload = got.json()
    assert payload["linked_account_id"] == tenant.account_id
    assert (payload["event"], payload["status"], payload["workflow_id"]) == (
        "Workflow Errored",
        "FAILED",
        wf,
    )
    assert payload["execution_id"] == execution_id and "error" in payload
