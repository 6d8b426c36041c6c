"""Event definitions (Refold's POST /application/event): the sample and the enforced json_schema."""

from __future__ import annotations

import time

import httpx
import pytest

from engine.flows import BASE, finished, publish
from graphs import node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

SIGNUP_SCHEMA = {
    "type": "object",
    "required": ["email"],
    "properties": {
        "email": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
        "plan": {"enum": ["free", "pro"]},
    },
}


async def define(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> httpx.Response:
    return await client.post(
        f"{BASE}/application/event", json={"name": "signup", **body}, headers=tenant.org_key
    )


async def listen(client: httpx.AsyncClient, tenant: Tenant) -> None:
    start = node("1", "start", "Start", trigger="event", event="signup")
    await publish(client, tenant, [start, node("2", "transform", "Out", value="{{ trigger }}")])


async def fire(client: httpx.AsyncClient, tenant: Tenant, payload: object) -> httpx.Response:
    body = {"event": "signup", "payload": payload}
    return await client.post(f"{BASE}/event/trigger", json=body, headers=tenant.bearer)


async def runs(client: httpx.AsyncClient, tenant: Tenant) -> int:
    listed = await client.get(f"{BASE}/execution", headers=tenant.bearer)
    return int(listed.json()["totalDocs"])


async def test_an_event_is_defined_with_its_sample_and_listed_under_its_app(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    defined = await define(client, tenant, response='{"email": "a@b.c"}', json_schema=SIGNUP_SCHEMA)
    assert defined.status_code == 200, defined.text
    body = defined.json()
    assert body["response"] == {"email": "a@b.c"} and body["json_schema"] == SIGNUP_SCHEMA
    listed = await client.get(f"{BASE}/application/{body['slug']}/events", headers=tenant.bearer)
    assert [event["name"] for event in listed.json()] == ["signup"]


async def test_a_broken_schema_is_refused_when_defined(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for broken in (
        "{not json",
        [1, 2],
        {"type": "no-such-type"},
        {"properties": {"x": {"pattern": "(a)\\1"}}},  # a backreference: RE2 cannot run it
        {"patternProperties": {"(?<=a)b": {}}},
    ):
        refused = await define(client, tenant, json_schema=broken)
        assert "json_schema" in assert_envelope(refused, 400, "INVALID_SCHEMA")["message"]


async def test_payloads_that_break_the_schema_are_refused_with_reasons_and_start_nothing(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    await listen(client, tenant)
    assert (await define(client, tenant, json_schema=SIGNUP_SCHEMA)).status_code == 200
    refused = await fire(client, tenant, {"email": "nobody", "plan": "gold"})
    message = assert_envelope(refused, 400, "INVALID_PAYLOAD")["message"]
    assert "payload.email: 'nobody' does not match" in message
    assert "payload.plan: 'gold' is not one of ['free', 'pro']" in message
    missing = assert_envelope(await fire(client, tenant, {}), 400, "INVALID_PAYLOAD")
    assert "'email' is a required property" in missing["message"]
    assert await runs(client, tenant) == 0

    accepted = await fire(client, tenant, {"email": "ada@example.com", "plan": "pro"})
    assert accepted.status_code == 200, accepted.text
    [execution_id] = accepted.json()["execution_ids"]
    done = await finished(client, tenant, execution_id)
    assert done["status"] == "COMPLETED"
    assert done["output"] == {"email": "ada@example.com", "plan": "pro"}


async def test_a_catastrophic_pattern_neither_hangs_nor_stalls_the_server(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await listen(client, tenant)
    schema = {"properties": {"word": {"type": "string", "pattern": "^(a+)+$"}}}
    assert (await define(client, tenant, json_schema=schema)).status_code == 200
    began = time.perf_counter()
    refused = await fire(client, tenant, {"word": "a" * 5000 + "!"})
    assert_envelope(refused, 400, "INVALID_PAYLOAD")
    # Python's backtracking `re` would take longer than the universe has left; RE2 is linear
    # (milliseconds), so a bound generous for a loaded machine still catches the backtracking.
    assert time.perf_counter() - began < 10
