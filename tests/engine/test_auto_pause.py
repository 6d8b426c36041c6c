"""A workflow pauses itself after the org's limit of failed runs in a row, and resumes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from engine.failing_flows import fails_when_asked, set_pause_after
from engine.flows import BASE, execute, publish, run
from graphs import node
from support import Tenant, assert_envelope, wait_until
from weft.api.deps import app_state
from weft.clock import now
from weft.engine.starts.scheduler import fire_due_schedules
from weft.engine.workers.host import Engine
from weft.store.db import Database
from weft.store.tables import Execution, Schedule

pytestmark = pytest.mark.integration


async def pause_of(client: httpx.AsyncClient, tenant: Tenant, wf: str) -> dict[str, Any]:
    got = await client.get(f"{BASE}/workflow/{wf}/pause", headers=tenant.bearer)
    assert got.status_code == 200, got.text
    return dict(got.json())


async def test_pauses_after_n_failures_refuses_triggers_and_resumes(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    await set_pause_after(client, tenant, 3)
    wf = await publish(client, tenant, *fails_when_asked())
    failed = [await run(client, tenant, wf, {"fail": True}) for _ in range(3)]
    assert [f["status"] for f in failed] == ["FAILED"] * 3

    refused = assert_envelope(await execute(client, tenant, wf, {}), 409, "WORKFLOW_PAUSED")
    assert f"/workflow/{wf}/resume" in refused["message"]
    paused = await pause_of(client, tenant, wf)
    assert paused == {
        **paused,
        "paused": True,
        "failures": 3,
        "streak": 3,
        "execution_id": failed[-1]["_id"],
        "reason": "Ended by an end node",
    }
    listed = await client.get(f"{BASE}/workflow/{wf}", headers=tenant.bearer)
    assert listed.json()["paused_at"] == paused["paused_at"]

    resumed = await client.post(f"{BASE}/workflow/{wf}/resume", headers=tenant.bearer)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json() == {**resumed.json(), "paused": False, "failures": 0, "streak": 0}
    assert (await run(client, tenant, wf, {}))["status"] == "COMPLETED"


async def test_a_success_in_between_resets_the_count(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    await set_pause_after(client, tenant, 3)
    wf = await publish(client, tenant, *fails_when_asked())
    for fail in (True, True, False, True, True):
        await run(client, tenant, wf, {"fail": fail})
    state = await pause_of(client, tenant, wf)
    assert (state["paused"], state["streak"]) == (False, 2)
    assert (await execute(client, tenant, wf, {})).status_code == 200


async def test_test_runs_and_a_zero_limit_never_pause(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    await set_pause_after(client, tenant, 0)
    wf = await publish(client, tenant, *fails_when_asked())
    for _ in range(3):
        await run(client, tenant, wf, {"fail": True})
    state = await pause_of(client, tenant, wf)
    assert (state["paused"], state["streak"]) == (False, 3)


async def test_schedules_stop_firing_while_paused_and_fire_after_resume(
    app: Any, client: httpx.AsyncClient, tenant: Tenant, db: Database, engine: Engine
) -> None:
    await set_pause_after(client, tenant, 1)
    # Yearly, so no tick of its own falls due while the test runs.
    cron = node("1", "start", "Start", trigger="schedule", cron="0 0 1 1 *", timezone="UTC")
    wf = await publish(client, tenant, *fails_when_asked(cron))
    await run(client, tenant, wf, {"fail": True})  # execute runs any trigger's workflow
    assert (await pause_of(client, tenant, wf))["paused"]

    services = app_state(app).services

    async def fire_a_missed_tick() -> None:
        async with db.transaction() as session:
            await session.execute(
                update(Schedule)
                .where(Schedule.workflow_id == wf)
                .values(next_fire_at=now() - timedelta(minutes=6))
            )
        # The engine's own scheduler (once a second) may take the tick first; either way the
        # tick is handled once, and the schedule then waits for its next one.
        await fire_due_schedules(services)
        await wait_until(tick_passed, what="the missed tick's handling")

    async def tick_passed() -> bool:
        async with db.reading() as session:
            return bool((await session.get(Schedule, wf)).next_fire_at > now())

    async def scheduled_runs() -> int:
        async with db.reading() as session:
            stmt = select(func.count()).where(
                Execution.workflow_id == wf, Execution.trigger == "schedule"
            )
            return int(await session.scalar(stmt) or 0)

    await fire_a_missed_tick()
    assert await scheduled_runs() == 0

    await client.post(f"{BASE}/workflow/{wf}/resume", headers=tenant.bearer)
    await fire_a_missed_tick()
    assert await scheduled_runs() == 1


async def test_a_public_workflow_resumes_with_the_org_key_and_limits_are_checked(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    bad = await client.put(
        f"{BASE}/org/settings", json={"pause_after_failures": -1}, headers=tenant.org_key
    )
    assert_envelope(bad, 400)
    wrong_type = await client.put(
        f"{BASE}/org/settings", json={"pause_after_failures": "10"}, headers=tenant.org_key
    )
    assert_envelope(wrong_type, 400)
    got = await client.get(f"{BASE}/org/settings", headers=tenant.org_key)
    assert got.json()["pause_after_failures"] == 10  # the default
    missing = await client.post(f"{BASE}/workflow/{'0' * 24}/resume", headers=tenant.bearer)
    assert_envelope(missing, 404)


async def test_webhooks_events_and_reruns_are_refused_while_paused(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    await set_pause_after(client, tenant, 1)
    hook = await publish(
        client, tenant, *fails_when_asked(node("1", "start", "Start", trigger="webhook"))
    )
    listens = node("1", "start", "Start", trigger="event", event="nightly")
    listener = await publish(client, tenant, *fails_when_asked(listens))
    path = (await client.get(f"{BASE}/workflow/{hook}", headers=tenant.bearer)).json()
    failed = await run(client, tenant, hook, {"fail": True})
    assert failed["status"] == "FAILED", failed  # an ERRORED run (Weft's fault) pauses nothing
    assert (await pause_of(client, tenant, hook))["paused"], failed
    assert_envelope(await client.post(path["webhook_path"], json={}), 409, "WORKFLOW_PAUSED")
    rerun = await client.post(f"{BASE}/execution/{failed['_id']}/rerun", headers=tenant.bearer)
    assert_envelope(rerun, 409, "WORKFLOW_PAUSED")

    event = {"event": "nightly", "payload": {"fail": True}}
    started = await client.post(f"{BASE}/event/trigger", json=event, headers=tenant.bearer)
    assert started.status_code == 200, started.text  # the listener still runs, and fails

    async def listener_paused() -> bool:
        return bool((await pause_of(client, tenant, listener))["paused"])

    await wait_until(listener_paused, what="the listener paused itself")
    again = await client.post(f"{BASE}/event/trigger", json=event, headers=tenant.bearer)
    assert_envelope(again, 409, "WORKFLOW_PAUSED")
