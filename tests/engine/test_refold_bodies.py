"""Refold request bodies: `sync_execution` in the body; empty bodies where all is optional."""

from __future__ import annotations

import httpx
import pytest

from engine.flows import BASE, finished, publish
from graphs import chain, node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

START = node("1", "start", "Start", trigger="manual", sample_payload={"who": "sample"})
REPLY = node("2", "respond", "Reply", body={"hello": "{{ trigger.who }}"})


async def test_sync_execution_in_the_body_waits_for_the_respond_node(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [START, REPLY])
    answer = await client.post(
        f"{BASE}/workflow/{wf}/execute",
        json={"payload": {"who": "ada"}, "sync_execution": True},
        headers=tenant.bearer,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"hello": "ada"}
    assert answer.headers["x-execution-id"]


async def test_sync_execution_false_in_the_body_runs_async_even_with_the_header(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [START, REPLY])
    answer = await client.post(
        f"{BASE}/workflow/{wf}/execute",
        json={"payload": {"who": "ada"}, "sync_execution": False},
        headers={**tenant.bearer, "sync_execution": "true"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == "Workflow execution started"


async def test_execute_accepts_an_empty_body(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [START, REPLY])
    for extra in ({}, {"content-type": "application/json"}):
        answer = await client.post(
            f"{BASE}/workflow/{wf}/execute", headers={**tenant.bearer, **extra}
        )
        assert answer.status_code == 200, answer.text
        done = await finished(client, tenant, answer.json()["execution_id"])
        assert done["status"] == "COMPLETED" and done["payload"] is None


async def test_test_route_accepts_an_empty_body_and_runs_the_sample(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [START, REPLY])
    answer = await client.post(f"{BASE}/workflow/{wf}/test", headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["return_value"] == {"hello": "sample"}


async def test_publish_rename_and_run_node_accept_empty_bodies(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(f"{BASE}/workflow", headers=tenant.bearer)
    assert created.status_code == 200, created.text
    wf = created.json()["workflow"]["associated_workflow"]
    saved = await client.put(
        f"{BASE}/workflow/{wf}/draft",
        json={"nodes": [START, REPLY], "edges": chain(START, REPLY)},
        headers=tenant.bearer,
    )
    assert saved.status_code == 200, saved.text
    ran = await client.post(f"{BASE}/workflow/{wf}/nodes/2/run", headers=tenant.bearer)
    assert ran.status_code == 200, ran.text
    published = await client.put(f"{BASE}/workflow/{wf}/publish", headers=tenant.bearer)
    assert published.status_code == 200, published.text
    assert published.json()["published"] is True
    renamed = await client.patch(f"{BASE}/workflow/{wf}", headers=tenant.bearer)
    assert renamed.status_code == 200, renamed.text


async def test_a_body_that_is_not_an_object_is_still_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        f"{BASE}/workflow/000000000000000000000000/execute", json=[1], headers=tenant.bearer
    )
    assert_envelope(response, 400, "INVALID_INPUT")
