"""Quotas: set by the org (per org, per linked account), enforced where runs start.

A start past a quota is 429 QUOTA_EXCEEDED (which quota, its limit, when it resets) and stores
nothing; a burst refuses exactly the starts past the limit; the org hears `Quota Reached`
once per quota and period; a run past its steps-per-run quota fails at that step.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from engine.flows import BASE, finished, publish
from engine.metered import metered_flow, run_once
from graphs import MANUAL_START, node
from support import NO_RATE_LIMITS, Tenant, TenantFactory, assert_envelope, running_app
from weft.api.deps import app_state
from weft.clock import now
from weft.engine.starts.scheduler import fire_due_schedules
from weft.store.db import Database
from weft.store.tables import Execution, NotificationDelivery, NotificationSubscription, Schedule

pytestmark = pytest.mark.integration

QUOTAS = f"{BASE}/quotas"
ONE_STEP = [MANUAL_START, node("2", "transform", "Echo", value="{{ trigger }}")]


async def set_quotas(
    client: httpx.AsyncClient, tenant: Tenant, account: str | None = None, **limits: Any
) -> dict[str, Any]:
    params = {"linked_account_id": account} if account else {}
    answer = await client.put(QUOTAS, params=params, json=limits, headers=tenant.org_key)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def runs_of(db: Database, workflow_id: str) -> int:
    async with db.reading() as session:
        count = select(func.count()).where(Execution.workflow_id == workflow_id)
        return int(await session.scalar(count) or 0)


async def quota_notifications(db: Database, org_id: str) -> list[dict[str, Any]]:
    async with db.reading() as session:
        rows = await session.scalars(
            select(NotificationDelivery.payload)
            .join(NotificationSubscription)
            .where(
                NotificationSubscription.org_id == org_id,
                NotificationDelivery.event == "Quota Reached",
            )
        )
        return list(rows)


async def subscribe(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"webhook_url": "https://hooks.example.com/weft", "webhook_events": ["Quota Reached"]}
    created = await client.post(f"{BASE}/webhook", json=body, headers=tenant.org_key)
    assert created.status_code == 200, created.text


async def test_quotas_are_set_read_and_checked(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await client.get(QUOTAS, headers=tenant.org_key)).json()["runs_per_month"] is None
    got = await set_quotas(client, tenant, runs_per_month=1000, concurrent_runs=5)
    assert (got["runs_per_month"], got["concurrent_runs"], got["steps_per_run"]) == (1000, 5, None)
    got = await set_quotas(client, tenant, runs_per_month=None, steps_per_run=50)
    assert (got["runs_per_month"], got["concurrent_runs"], got["steps_per_run"]) == (None, 5, 50)
    assert got["used"] == {"runs_per_month": 0, "action_calls_per_day": 0}
    negative = await client.put(QUOTAS, json={"runs_per_month": -1}, headers=tenant.org_key)
    assert_envelope(negative, 400)
    unknown = await client.put(
        QUOTAS, params={"linked_account_id": "nobody"}, json={}, headers=tenant.org_key
    )
    assert_envelope(unknown, 404, "LINKED_ACCOUNT_NOT_FOUND")
    assert (await client.put(QUOTAS, json={}, headers=tenant.bearer)).status_code == 401


async def test_a_burst_past_runs_per_month_refuses_exactly_the_runs_past_it(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant("acct-burst")
    async with running_app(settings, db, **NO_RATE_LIMITS) as client:
        workflow_id = await publish(client, tenant, ONE_STEP)
        await subscribe(client, tenant)
        await set_quotas(client, tenant, runs_per_month=5)
        url = f"{BASE}/workflow/{workflow_id}/execute"
        answers = await asyncio.gather(
            *(
                client.post(url, json={"payload": {"i": i}}, headers=tenant.bearer)
                for i in range(16)
            )
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * 5 + [429] * 11, [a.text for a in answers]
        refused = assert_envelope(
            next(a for a in answers if a.status_code == 429), 429, "QUOTA_EXCEEDED"
        )
        assert refused["quota"] == "runs_per_month" and refused["limit"] == 5
        assert refused["applies_to"] == "org" and refused["resets_at"].endswith("-01T00:00:00.000Z")
        assert "runs_per_month" in refused["message"]
        assert int(next(a for a in answers if a.status_code == 429).headers["retry-after"]) > 0
        assert await runs_of(db, workflow_id) == 5  # nothing stored for the refused calls
        (told,) = await quota_notifications(db, tenant.org_id)  # once, not per refused call
        assert told["quota"] == "runs_per_month" and told["limit"] == 5
        used = (await client.get(QUOTAS, headers=tenant.org_key)).json()["used"]
        assert used["runs_per_month"] == 5
        scraped = (await client.get("/metrics")).text
        assert 'weft_quota_refusals_total{quota="runs_per_month"}' in scraped


async def test_an_accounts_quota_refuses_its_runs_and_webhooks_but_not_anothers(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant("acct-limited")
    other = await make_tenant("acct-free", org_id=tenant.org_id)
    other.keys = tenant.keys
    hooked = [node("1", "start", "Start", trigger="webhook"), ONE_STEP[1]]
    async with running_app(settings, db, **NO_RATE_LIMITS) as client:
        workflow_id = await publish(client, tenant, hooked)
        free_flow = await publish(client, other, hooked)
        await set_quotas(client, tenant, "acct-limited", runs_per_month=0)
        got = await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
        refused = await client.post(got.json()["webhook_path"], json={"x": 1})
        body = assert_envelope(refused, 429, "QUOTA_EXCEEDED")
        assert body["applies_to"] == "linked_account"
        assert body["linked_account_id"] == "acct-limited"
        assert await runs_of(db, workflow_id) == 0
        got = await client.get(f"{BASE}/workflow/{free_flow}", headers=other.bearer)
        assert (await client.post(got.json()["webhook_path"], json={"x": 1})).status_code < 300


async def test_concurrent_runs_are_counted_until_they_end(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant("acct-concurrent")
    waits = [MANUAL_START, node("2", "delay", "Wait", seconds=3600)]
    async with running_app(settings, db, **NO_RATE_LIMITS) as client:
        workflow_id = await publish(client, tenant, waits)
        await set_quotas(client, tenant, "acct-concurrent", concurrent_runs=2)
        url = f"{BASE}/workflow/{workflow_id}/execute"
        answers = await asyncio.gather(
            *(client.post(url, json={"payload": {}}, headers=tenant.bearer) for _ in range(6))
        )
        assert sorted(a.status_code for a in answers) == [200, 200, 429, 429, 429, 429]
        body = assert_envelope(next(a for a in answers if a.status_code == 429), 429)
        assert body["quota"] == "concurrent_runs" and body["resets_at"] is None
        first = next(a for a in answers if a.status_code == 200).json()["execution_id"]
        cancelled = await client.post(f"{BASE}/execution/{first}/cancel", headers=tenant.bearer)
        assert cancelled.status_code == 200, cancelled.text
        assert (
            await client.post(url, json={"payload": {}}, headers=tenant.bearer)
        ).status_code == 200
        assert await runs_of(db, workflow_id) == 3


async def test_a_run_past_its_steps_per_run_quota_fails_at_that_step(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant("acct-steps")
    nodes = [MANUAL_START, *(node(str(i), "transform", f"T{i}", value=i) for i in range(2, 6))]
    async with running_app(settings, db, **NO_RATE_LIMITS) as client:
        workflow_id = await publish(client, tenant, nodes)
        await set_quotas(client, tenant, steps_per_run=3)
        started = await client.post(
            f"{BASE}/workflow/{workflow_id}/execute", json={"payload": {}}, headers=tenant.bearer
        )
        done = await finished(client, tenant, started.json()["execution_id"])
    assert done["status"] == "FAILED", done
    assert done["error"]["quota"] == "steps_per_run" and done["error"]["node_id"] == "4"
    assert "quota of 3 steps per run" in done["error"]["message"]


async def test_a_burst_through_two_processes_refuses_exactly_the_runs_past_the_limit(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    """Two apps, each with its own engine and connections to the database (as two processes of
    `weft serve` have), take one burst together: the reservation is the database's, not a
    process's."""
    tenant = await make_tenant("acct-two")
    other_db = Database(settings.database_url)
    try:
        async with (
            running_app(settings, db, **NO_RATE_LIMITS) as one,
            running_app(settings, other_db, **NO_RATE_LIMITS) as two,
        ):
            workflow_id = await publish(one, tenant, ONE_STEP)
            await set_quotas(one, tenant, runs_per_month=7)
            url = f"{BASE}/workflow/{workflow_id}/execute"
            answers = await asyncio.gather(
                *(
                    (one, two)[i % 2].post(url, json={"payload": {"i": i}}, headers=tenant.bearer)
                    for i in range(20)
                )
            )
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * 7 + [429] * 13, [a.text for a in answers if a.status_code >= 500]
        assert await runs_of(db, workflow_id) == 7
    finally:
        await other_db.dispose()


async def test_a_schedules_tick_past_a_quota_is_skipped_and_the_schedule_goes_on(
    app: Any, client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    cron = node("1", "start", "Start", trigger="schedule", cron="*/5 * * * *", timezone="UTC")
    flows = [await publish(client, tenant, [cron], name=f"tick {i}") for i in range(3)]
    await subscribe(client, tenant)
    await set_quotas(client, tenant, runs_per_month=2)
    async with db.transaction() as session:
        for i, workflow_id in enumerate(flows):  # ticks apart: one account's keys differ by tick
            await session.execute(
                update(Schedule)
                .where(Schedule.workflow_id == workflow_id)
                .values(next_fire_at=now() - timedelta(minutes=1, seconds=i))
            )
    assert await fire_due_schedules(app_state(app).services) == 2
    assert sum([await runs_of(db, wf) for wf in flows]) == 2
    async with db.reading() as session:
        schedules = await session.scalars(select(Schedule).where(Schedule.workflow_id.in_(flows)))
        assert all(s.next_fire_at > now() for s in schedules)  # the refused one advanced too
    (told,) = await quota_notifications(db, tenant.org_id)
    assert told["quota"] == "runs_per_month"


async def test_action_calls_per_day_refuse_starts_once_todays_calls_reach_the_limit(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant("acct-calls")
    async with running_app(settings, db, **NO_RATE_LIMITS) as client:
        workflow_id = await metered_flow(client, tenant)  # one app call per run
        await set_quotas(client, tenant, "acct-calls", action_calls_per_day=2)
        for _ in range(2):
            await run_once(client, tenant, workflow_id)
        refused = await client.post(
            f"{BASE}/workflow/{workflow_id}/execute", json={"payload": {}}, headers=tenant.bearer
        )
        body = assert_envelope(refused, 429, "QUOTA_EXCEEDED")
        assert (body["quota"], body["limit"]) == ("action_calls_per_day", 2)
        assert body["resets_at"].endswith("T00:00:00.000Z")
        shown = await client.get(
            QUOTAS, params={"linked_account_id": "acct-calls"}, headers=tenant.org_key
        )
        assert shown.json()["used"]["action_calls_per_day"] == 2
    assert await runs_of(db, workflow_id) == 2
