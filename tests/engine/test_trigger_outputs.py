"""Webhook test runs and live runs agree on the trigger's output; request-structure says it."""

from __future__ import annotations

import httpx
import pytest

from engine.flows import BASE, finished, publish, step
from graphs import chain, node
from support import Tenant
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

SAMPLE = {"name": "Ada", "plan": "pro"}
HOOK = node("1", "start", "Start", trigger="webhook", sync=True, sample_payload=SAMPLE)
GREET = node("2", "respond", "Greet", body={"hi": "{{ trigger.body.name }}"})


async def test_webhook_live_run_and_test_run_give_the_same_trigger_shape(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [HOOK, GREET])
    path = (await client.get(f"{BASE}/workflow/{wf}", headers=tenant.bearer)).json()["webhook_path"]
    live = await client.post(f"{path}?src=crm", json=SAMPLE)
    assert live.status_code == 200, live.text
    assert live.json() == {"hi": "Ada"}
    live_run = await finished(client, tenant, live.headers["x-execution-id"])
    live_trigger = step(live_run, "1")["latest_output"]
    assert set(live_trigger) == {"body", "query", "headers", "method"}
    assert live_trigger["body"] == SAMPLE and live_trigger["query"] == {"src": "crm"}

    # Tests run the draft; editing opens one from the live version.
    await client.get(f"{BASE}/workflow/{wf}/edit", headers=tenant.bearer)
    tested = await client.post(f"{BASE}/workflow/{wf}/test", headers=tenant.bearer)
    assert tested.status_code == 200, tested.text
    assert tested.json()["return_value"] == {"hi": "Ada"}
    test_trigger = step(tested.json(), "1")["latest_output"]
    assert set(test_trigger) == set(live_trigger) and test_trigger["body"] == SAMPLE
    assert test_trigger["method"] == "POST"

    custom = await client.post(
        f"{BASE}/workflow/{wf}/test", json={"payload": {"name": "Grace"}}, headers=tenant.bearer
    )
    assert custom.json()["return_value"] == {"hi": "Grace"}, "a test payload is the body too"


async def test_request_structure_answers_each_triggers_output_shape(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    starts = {
        "webhook": HOOK,
        "event": node("1", "start", "Start", trigger="event", event="e", sample_payload=SAMPLE),
        "manual": node("1", "start", "Start", trigger="manual", sample_payload=SAMPLE),
        "schedule": node("1", "start", "Start", trigger="schedule", cron="0 * * * *"),
    }
    shapes = {}
    for kind, start in starts.items():
        wf = await publish(client, tenant, [start])
        got = await client.get(f"{BASE}/workflow/request-structure/{wf}", headers=tenant.bearer)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["trigger"] == kind
        shapes[kind] = body
    assert shapes["webhook"]["payload"] == SAMPLE
    assert shapes["webhook"]["trigger_output"]["body"] == SAMPLE
    assert set(shapes["webhook"]["trigger_output_schema"]["properties"]) == {
        "body",
        "query",
        "headers",
        "method",
    }
    assert shapes["event"]["trigger_output"] == SAMPLE
    assert shapes["manual"]["trigger_output"] == SAMPLE
    assert set(shapes["schedule"]["trigger_output"]) == {"scheduled_at"}


async def test_execute_of_a_webhook_workflow_passes_the_payload_unwrapped(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    echo = node("2", "respond", "Echo", body="{{ trigger }}")
    wf = await publish(client, tenant, [HOOK, echo], chain(HOOK, echo))
    answer = await client.post(
        f"{BASE}/workflow/{wf}/execute",
        json={"payload": {"body": {"name": "Ada"}}, "sync_execution": True},
        headers=tenant.bearer,
    )
    assert answer.json() == {"body": {"name": "Ada"}}
