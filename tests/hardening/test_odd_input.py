"""Odd values at the door (deep nesting, NUL, NaN, huge numbers) get an envelope, never a 500,
the same on SQLite and PostgreSQL; what is stored already never breaks a reader."""

from __future__ import annotations

import json

import httpx
import pytest

from engine.flows import BASE, execute, finished, publish
from graphs import MANUAL_START, node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration


def nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"a": [value]} if depth % 2 else [value]
    return value


def _raw(payload: str, tenant: Tenant) -> dict[str, object]:
    headers = {**tenant.bearer, "content-type": "application/json"}
    return {"content": payload.encode(), "headers": headers}


async def _workflow(client: httpx.AsyncClient, tenant: Tenant, *extra: dict) -> str:
    return await publish(client, tenant, [MANUAL_START, *extra])


async def test_deeply_nested_execute_payload_is_refused_with_an_envelope(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow = await _workflow(client, tenant)
    answer = await client.post(
        f"{BASE}/workflow/{workflow}/execute",
        json={"payload": nested(300)},
        headers=tenant.bearer,
    )
    body = assert_envelope(answer, 400, "INVALID_INPUT")
    assert "deeper than 64" in body["message"]
    listed = await client.get(f"{BASE}/execution", headers=tenant.bearer)
    assert listed.status_code == 200, listed.text


async def test_deeply_nested_bodies_are_refused_on_drafts_events_and_hooks(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow = await _workflow(client, tenant)
    deep = {"nodes": [MANUAL_START], "edges": [], "extra": nested(200)}
    for method, path, headers in (
        ("PUT", f"{BASE}/workflow/{workflow}/draft", tenant.bearer),
        ("POST", f"{BASE}/event/trigger", tenant.bearer),
        ("POST", "/hooks/whatever-secret", {}),
    ):
        answer = await client.request(method, path, json=deep, headers=headers)
        assert_envelope(answer, 400, "INVALID_INPUT")


@pytest.mark.parametrize(
    "raw",
    [
        '{"payload": {"name": "a\\u0000b"}}',
        '{"payload": {"a\\u0000": 1}}',
        '{"payload": {"x": NaN}}',
        '{"payload": [Infinity]}',
        '{"payload": -Infinity}',
        '{"payload": {"x": "a\\ud800b"}}',
    ],
    ids=["nul-value", "nul-key", "nan", "infinity", "minus-infinity", "lone-surrogate"],
)
async def test_nul_and_non_finite_numbers_in_json_are_refused_on_execute(
    client: httpx.AsyncClient, tenant: Tenant, raw: str
) -> None:
    workflow = await _workflow(client, tenant)
    answer = await client.post(f"{BASE}/workflow/{workflow}/execute", **_raw(raw, tenant))
    assert_envelope(answer, 400, "INVALID_INPUT")


async def test_nul_in_names_queries_paths_and_hooks_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(f"{BASE}/workflow", **_raw('{"name": "bad\\u0000name"}', tenant))
    assert_envelope(created, 400, "INVALID_INPUT")
    for path in (
        f"{BASE}/workflow?name=a%00b",
        f"{BASE}/workflow/abc%00def",
        "/hooks/se%00cret",
        "/hooks/secret?token=%00",
    ):
        answer = await client.get(path, headers=tenant.bearer)
        assert_envelope(answer, 400, "INVALID_INPUT")
    raw_nul = await client.post("/hooks/secret", content=b"text with \x00 in it")
    assert_envelope(raw_nul, 400, "INVALID_INPUT")


async def test_text_that_merely_mentions_nan_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    raw = '{"name": "NaN and Infinity [x] \\ud83d\\ude00"}'  # an escaped surrogate pair
    answer = await client.post(f"{BASE}/workflow", **_raw(raw, tenant))
    assert answer.status_code == 200, answer.text
    assert answer.json()["workflow"]["name"].endswith("\U0001f600")  # a pair is fine


@pytest.mark.parametrize(
    "version", ["9223372036854775808", "2147483648", "-1", "99999999999999999999"]
)
async def test_version_numbers_out_of_range_answer_an_envelope(
    client: httpx.AsyncClient, tenant: Tenant, version: str
) -> None:
    workflow = await _workflow(client, tenant)
    answer = await client.post(
        f"{BASE}/workflow/{workflow}/versions/{version}/restore", headers=tenant.bearer
    )
    assert answer.status_code in (400, 404), answer.text
    assert_envelope(answer, answer.status_code)


async def test_code_node_returning_a_deeply_nested_object_never_breaks_history(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    source = "let v = 1; for (let i = 0; i < 400; i++) { v = {a: v}; } return v;"
    workflow = await _workflow(client, tenant, node("2", "code", "Deep", source=source))
    started = await execute(client, tenant, workflow, {})
    assert started.status_code == 200, started.text
    done = await finished(client, tenant, started.json()["execution_id"])
    assert done["status"] in {"COMPLETED", "FAILED"}, done
    listed = await client.get(f"{BASE}/execution", headers=tenant.bearer)
    assert listed.status_code == 200, listed.text
    one = await client.get(f"{BASE}/execution/{done['_id']}", headers=tenant.bearer)
    assert one.status_code == 200, one.text
    json.dumps(one.json())
