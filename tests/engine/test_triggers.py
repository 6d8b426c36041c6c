"""Webhooks, schedules, workflow tests, request structure, live events, and tenant isolation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from engine.flows import BASE, execute, finished, publish, run, step
from engine.sink import Sink
from graphs import MANUAL_START, node
from support import Tenant, TenantFactory, assert_envelope
from weft.api.deps import app_state
from weft.clock import now
from weft.engine.starts.scheduler import fire_due_schedules
from weft.engine.workers.host import Engine
from weft.store.db import Database
from weft.store.tables import Execution, Schedule, WorkflowVersion

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sink() -> Sink:
    server = Sink()
    yield server
    server.close()


async def webhook_path(client: httpx.AsyncClient, tenant: Tenant, workflow_id: str) -> str:
    got = await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
    assert got.json()["trigger"] == "webhook"
    return str(got.json()["webhook_path"])


async def test_sync_webhook_answers_with_the_respond_node(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    hook = node("1", "start", "Start", trigger="webhook", sync=True)
    reply = node(
        "2",
        "respond",
        "Reply",
        status=201,
        headers={"x-order": "{{ trigger.body.id }}"},
        body={"received": "{{ trigger.body.id }}", "q": "{{ trigger.query.src }}"},
    )
    wf = await publish(client, tenant, [hook, reply])
    path = await webhook_path(client, tenant, wf)
    answer = await client.post(f"{path}?src=crm", json={"id": "o-9"})  # no credentials: the secret
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"received": "o-9", "q": "crm"}
    assert answer.headers["x-order"] == "o-9"


async def test_async_webhook_answers_202_with_the_execution_id(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    hook = node("1", "start", "Start", trigger="webhook")
    wf = await publish(
        client, tenant, [hook, node("2", "transform", "T", value="{{ trigger.body.n }}")]
    )
    path = await webhook_path(client, tenant, wf)
    answer = await client.post(path, json={"n": 5})
    assert answer.status_code == 202
    done = await finished(client, tenant, answer.json()["execution_id"])
    assert done["output"] == 5 and done["trigger"] == "webhook"


async def test_unknown_or_offline_webhooks_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert_envelope(await client.post("/hooks/not-a-secret", json={}), 404, "WEBHOOK_NOT_FOUND")
    wf = await publish(client, tenant, [node("1", "start", "Start", trigger="webhook")])
    path = await webhook_path(client, tenant, wf)
    await client.put(
        f"{BASE}/workflow/{wf}/publish", json={"published": False}, headers=tenant.bearer
    )
    assert_envelope(await client.post(path, json={}), 404, "WEBHOOK_NOT_FOUND")


async def test_schedule_fires_exactly_once_per_tick_with_two_schedulers(
    app, client: httpx.AsyncClient, tenant: Tenant, db: Database, settings
) -> None:
    cron = node("1", "start", "Start", trigger="schedule", cron="*/5 * * * *", timezone="UTC")
    wf = await publish(client, tenant, [cron])
    async with db.transaction() as session:
        await session.execute(
            update(Schedule)
            .where(Schedule.workflow_id == wf)
            .values(
                next_fire_at=now() - timedelta(minutes=12)  # missed ticks coalesce into one firing
            )
        )
    services = app_state(app).services
    other = Database(db.url)
    try:
        from weft.engine.workers.services import Services

        second = Services(db=other, settings=settings, outbound=None, sandbox=None)
        results = await asyncio.gather(
            fire_due_schedules(services), fire_due_schedules(second), return_exceptions=True
        )
    finally:
        await other.dispose()
    fired = [r for r in results if isinstance(r, int)]
    assert sum(fired) == 1, results
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Execution).where(Execution.workflow_id == wf)
        )
        schedule = await session.get(Schedule, wf)
    assert count == 1
    assert schedule.next_fire_at > now()
    assert await fire_due_schedules(services) == 0  # the same tick never fires again


async def test_two_workflows_of_one_account_both_fire_on_the_same_tick(
    app, client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    # Each tick's idempotency key names its workflow: two schedules of one account sharing a
    # tick must not collide (a collision rolled the whole round back, every round, for ever).
    cron = node("1", "start", "Start", trigger="schedule", cron="0 * * * *", timezone="UTC")
    first = await publish(client, tenant, [cron])
    second = await publish(client, tenant, [cron])
    tick = now().replace(minute=0, second=0, microsecond=0)
    async with db.transaction() as session:
        await session.execute(
            update(Schedule)
            .where(Schedule.workflow_id.in_([first, second]))
            .values(next_fire_at=tick)
        )
    assert await fire_due_schedules(app_state(app).services) == 2
    async with db.transaction() as session:
        counts = {
            wf: await session.scalar(
                select(func.count()).select_from(Execution).where(Execution.workflow_id == wf)
            )
            for wf in (first, second)
        }
    assert counts == {first: 1, second: 1}


async def test_workflow_test_runs_the_draft_and_returns_every_step(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [MANUAL_START, node("2", "transform", "Live", value="live")])
    sample = node("1", "start", "Start", trigger="manual", sample_payload={"n": 4})
    draft = {
        "nodes": [sample, node("2", "transform", "Draft", value="{{ trigger.n + 1 }}")],
        "edges": [{"source": "1", "target": "2"}],
    }
    await client.put(f"{BASE}/workflow/{wf}/draft", json=draft, headers=tenant.bearer)
    tested = await client.post(f"{BASE}/workflow/{wf}/test", json={}, headers=tenant.bearer)
    assert tested.status_code == 200, tested.text
    body = tested.json()
    assert body["status"] == "COMPLETED" and body["is_test"] is True and body["output"] == 5
    assert step(body, "1")["latest_output"] == {"n": 4}
    assert step(body, "2")["node_name"] == "Draft" and step(body, "2")["execution_time"] >= 0
    explicit = await client.post(
        f"{BASE}/workflow/{wf}/test", json={"payload": {"n": 10}}, headers=tenant.bearer
    )
    assert explicit.json()["output"] == 11
    # Test runs stay out of live history; the live version is untouched.
    history = (await client.get(f"{BASE}/execution", headers=tenant.bearer)).json()
    assert history["totalDocs"] == 0
    live = await run(client, tenant, wf)
    assert live["output"] == "live"


async def test_testing_an_invalid_draft_lists_its_problems(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(f"{BASE}/workflow", json={"name": "t"}, headers=tenant.bearer)
    wf = created.json()["workflow"]["associated_workflow"]
    draft = {
        "nodes": [MANUAL_START, node("2", "http", "No url", method="GET")],
        "edges": [{"source": "1", "target": "2"}],
    }
    await client.put(f"{BASE}/workflow/{wf}/draft", json=draft, headers=tenant.bearer)
    response = await client.post(f"{BASE}/workflow/{wf}/test", json={}, headers=tenant.bearer)
    body = assert_envelope(response, 422, "INVALID_WORKFLOW_GRAPH")
    assert body["errors"][0]["node_id"] == "2"


async def test_request_structure_describes_the_sample_payload(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    sample = {"email": "a@b.c", "age": 3, "tags": ["x"], "address": {"city": "Oslo"}}
    start = node("1", "start", "Start", trigger="event", event="signup", sample_payload=sample)
    wf = await publish(client, tenant, [start])
    got = await client.get(f"{BASE}/workflow/request-structure/{wf}", headers=tenant.bearer)
    body = got.json()
    assert body["payload"] == sample and body["trigger"] == "event"
    assert body["schema"]["properties"]["age"] == {"type": "integer"}
    assert body["schema"]["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert {"path": "address.city", "type": "string"} in body["schema_interpreted"]


async def test_request_structure_of_a_workflow_without_a_draft_creates_none(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    created = await client.post(f"{BASE}/workflow", json={"name": "bare"}, headers=tenant.bearer)
    wf = created.json()["workflow"]["associated_workflow"]
    discarded = await client.delete(f"{BASE}/workflow/{wf}/draft", headers=tenant.bearer)
    assert discarded.status_code == 200, discarded.text
    got = await client.get(f"{BASE}/workflow/request-structure/{wf}", headers=tenant.bearer)
    assert got.status_code == 200 and got.json()["trigger"] == "manual"
    async with db.reading() as session:
        versions = await session.scalar(
            select(func.count())
            .select_from(WorkflowVersion)
            .where(WorkflowVersion.workflow_id == wf)
        )
    assert versions == 0  # a GET wrote nothing


async def test_event_stream_follows_a_run_live(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(
        client,
        tenant,
        [
            MANUAL_START,
            node("2", "delay", "Pause", seconds=0.2),
            node("3", "transform", "Done", value=1),
        ],
    )
    execution_id = (await execute(client, tenant, wf)).json()["execution_id"]
    events: list[str] = []
    async with client.stream(
        "GET", f"{BASE}/execution/{execution_id}/events", headers=tenant.bearer
    ) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
    assert events.count("step") == 3 and events[-1] == "status"


async def test_per_node_timeout_fails_a_slow_step(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    slow = node("2", "http", "Slow", url=sink.url + "/slow/2000/x", timeout_s=0.2)
    done = await run(client, tenant, await publish(client, tenant, [MANUAL_START, slow]))
    assert done["status"] == "FAILED" and "0.2" in done["error"]["message"]


async def test_tenants_cannot_trigger_or_read_each_others_runs(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, engine: Engine
) -> None:
    neighbour = await make_tenant(account_id="acct-b", org_id=tenant.org_id)
    stranger = await make_tenant(account_id=tenant.account_id)  # other org, same account id
    listens = node("1", "start", "Start", trigger="event", event="ping")
    wf = await publish(client, tenant, [listens])
    mine = await run(client, tenant, wf)
    for intruder in (neighbour, stranger):
        assert_envelope(await execute(client, intruder, wf, {}), 404, "WORKFLOW_NOT_FOUND")
        tested = await client.post(f"{BASE}/workflow/{wf}/test", json={}, headers=intruder.bearer)
        assert_envelope(tested, 404, "WORKFLOW_NOT_FOUND")
        event = await client.post(
            f"{BASE}/event/trigger", json={"event": "ping"}, headers=intruder.bearer
        )
        assert_envelope(event, 404, "INVALID_EVENT")
        for method, path in (
            ("GET", f"/execution/{mine['_id']}"),
            ("POST", f"/execution/{mine['_id']}/rerun"),
            ("POST", f"/execution/{mine['_id']}/cancel"),
            ("GET", f"/execution/{mine['_id']}/events"),
        ):
            response = await client.request(method, BASE + path, headers=intruder.bearer)
            assert_envelope(response, 404, "EXECUTION_NOT_FOUND")
        listed = (await client.get(f"{BASE}/execution", headers=intruder.bearer)).json()
        assert listed["totalDocs"] == 0
    # Webhook secrets of one tenant's workflow never start another tenant's workflow.
    hook = await publish(client, neighbour, [node("1", "start", "Start", trigger="webhook")])
    path = await webhook_path(client, neighbour, hook)
    started = await client.post(path, json={})
    other = await client.get(
        f"{BASE}/execution/{started.json()['execution_id']}", headers=tenant.bearer
    )
    assert_envelope(other, 404, "EXECUTION_NOT_FOUND")


async def test_finished_runs_notify_the_orgs_webhook_signed(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    import hashlib
    import hmac
    import json

    path = f"/notify/{tenant.org_id}"
    created = await client.post(
        f"{BASE}/webhook",
        json={"webhook_url": sink.url + path, "webhook_events": ["Workflow Completed"]},
        headers=tenant.org_key,
    )
    assert created.status_code == 200, created.text
    secret = created.json()["secret"]
    wf = await publish(client, tenant, [MANUAL_START])
    done = await run(client, tenant, wf, {"x": 1})
    for _ in range(200):
        if sink.calls[path]:
            break
        await asyncio.sleep(0.05)
    assert sink.calls[path] == 1
    _, raw, headers = next(r for r in sink.requests if r[0] == path)
    body = json.loads(raw)
    assert body["event"] == "Workflow Completed" and body["execution_id"] == done["_id"]
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["x-cobalt-signature"] == expected


async def test_run_node_runs_one_draft_node_alone_with_given_inputs(
    client: httpx.AsyncClient, tenant: Tenant, sink: Sink
) -> None:
    created = await client.post(f"{BASE}/workflow", json={"name": "r"}, headers=tenant.bearer)
    wf = created.json()["workflow"]["associated_workflow"]
    draft = {
        "nodes": [
            MANUAL_START,
            node("2", "transform", "Shape", value={"sum": "{{ trigger.a + nodes.prev.b }}"}),
            node("3", "condition", "Big", expression="nodes.shape.sum > 10"),
            node(
                "4", "http", "Call", url=f"{sink.url}/single/{tenant.org_id}/" + "{{ trigger.a }}"
            ),
            node("5", "transform", "Bad", value="{{ $number('x') }}"),
        ],
        "edges": [{"source": "1", "target": "2"}],
    }
    await client.put(f"{BASE}/workflow/{wf}/draft", json=draft, headers=tenant.bearer)
    url = f"{BASE}/workflow/{wf}/nodes"
    inputs = {"trigger": {"a": 4}, "nodes": {"prev": {"b": 9}, "shape": {"sum": 13}}}
    shaped = (await client.post(f"{url}/2/run", json=inputs, headers=tenant.bearer)).json()
    assert shaped["status"] == "COMPLETED" and shaped["output"] == {"sum": 13}
    branch = (await client.post(f"{url}/3/run", json=inputs, headers=tenant.bearer)).json()
    assert branch["branch"] == "true"
    called = (await client.post(f"{url}/4/run", json=inputs, headers=tenant.bearer)).json()
    assert called["output"]["status"] == 200 and sink.calls[f"/single/{tenant.org_id}/4"] == 1
    failed = (await client.post(f"{url}/5/run", json=inputs, headers=tenant.bearer)).json()
    assert failed["status"] == "FAILED" and 'Node "Bad" (5)' in failed["error"]["message"]
    missing = await client.post(f"{url}/9/run", json=inputs, headers=tenant.bearer)
    assert_envelope(missing, 404, "NODE_NOT_FOUND")
    # Nothing is stored: run-node leaves no execution behind.
    history = await client.get(f"{BASE}/execution?include_tests=true", headers=tenant.bearer)
    assert history.json()["totalDocs"] == 0


async def test_deleting_a_live_webhook_workflow_deregisters_its_trigger(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wf = await publish(client, tenant, [node("1", "start", "Start", trigger="webhook")])
    path = await webhook_path(client, tenant, wf)
    deleted = await client.delete(f"{BASE}/workflow/{wf}", headers=tenant.bearer)
    assert deleted.json() == {"success": True, "triggers_deregistered": 1}
    assert_envelope(await client.post(path, json={}), 404, "WEBHOOK_NOT_FOUND")


async def test_webhook_runs_never_see_the_callers_credentials(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    hook = node("1", "start", "Start", trigger="webhook")
    keep = node("2", "transform", "Headers", value="{{ trigger.headers }}")
    path = await webhook_path(client, tenant, await publish(client, tenant, [hook, keep]))
    sent = {"authorization": "Bearer secret", "x-api-key": "k", "cookie": "c", "x-trace": "t"}
    answer = await client.post(path, json={}, headers=sent)
    done = await finished(client, tenant, answer.json()["execution_id"])
    seen = done["output"]
    assert seen["x-trace"] == "t"
    assert not {"authorization", "x-api-key", "cookie"} & set(seen)
