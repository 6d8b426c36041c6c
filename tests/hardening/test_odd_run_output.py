"""Odd strings a run produces (lone UTF-16 surrogates, NUL) from a code node, a JSONata
expression or an outside answer are stored and read back with U+FFFD in their place, the same on
SQLite and PostgreSQL: the run completes, and every view of the account's history answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from sqlalchemy import text

from engine.flows import BASE, create_draft, execute, finished, publish, run, step
from graphs import MANUAL_START, node
from odd_strings import expected, odd_json
from servers import RecordingServer, Request
from support import Tenant
from weft.engine.workers.host import Engine
from weft.store.db import Database

pytestmark = pytest.mark.integration

# What the outside API answers: the JSON text itself, escapes and all.
ODD_ANSWER = (
    b'{"k\\ud800": "v\\u0000w", "lone": "\\udfff", "pair": "\\ud83d\\ude00", '
    b'"n\\u0000": ["a\\udbffb"]}'
)
FROM_ANSWER = {
    "k\ufffd": "v\ufffdw",
    "lone": "\ufffd",
    "pair": "\U0001f600",
    "n\ufffd": ["a\ufffdb"],
}
CODE = r"""return {"x\ud800": "y\u0000", "list": ["\udc00", "ok", "\ud83d\ude00"]};"""
FROM_CODE = {"x\ufffd": "y\ufffd", "list": ["\ufffd", "ok", "\U0001f600"]}
EXPRESSION = '{{ "x\\ud800" & "y\\u0000" }}'
FROM_EXPRESSION = "x\ufffdy\ufffd"


class OddApi(RecordingServer):
    """An outside API whose JSON answer holds lone surrogates and NULs, in keys and values."""

    answer = ODD_ANSWER

    def respond(self, request: Request) -> tuple[int, Any]:
        return 200, self.answer


@pytest.fixture
def odd_api() -> Iterator[OddApi]:
    server = OddApi()
    yield server
    server.close()


def _nodes(api: OddApi) -> list[dict[str, Any]]:
    return [
        MANUAL_START,
        node("2", "code", "Code", source=CODE),
        node("3", "transform", "Expression", value=EXPRESSION),
        node("4", "http", "Call", url=f"{api.url}/odd"),
    ]


def _assert_replaced(execution: dict[str, Any]) -> None:
    assert execution["status"] == "COMPLETED", execution
    assert step(execution, "2")["latest_output"] == FROM_CODE
    assert step(execution, "3")["latest_output"] == FROM_EXPRESSION
    assert step(execution, "4")["latest_output"]["body"] == FROM_ANSWER


async def _events(client: httpx.AsyncClient, tenant: Tenant, execution_id: str) -> list[dict]:
    """The run's event stream read to its end: each event's name and data."""
    url = f"{BASE}/execution/{execution_id}/events"
    async with client.stream("GET", url, headers=tenant.bearer) as answer:
        assert answer.status_code == 200
        text = (await answer.aread()).decode()
    events = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append({"event": lines["event"], "data": json.loads(lines["data"])})
    return events


async def test_odd_strings_a_run_produces_are_stored_replaced_and_every_view_answers(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, odd_api: OddApi
) -> None:
    workflow = await publish(client, tenant, _nodes(odd_api))
    started = await execute(client, tenant, workflow, {})
    assert started.status_code == 200, started.text
    execution_id = started.json()["execution_id"]
    done = await finished(client, tenant, execution_id)
    _assert_replaced(done)
    assert done["output"]["body"] == FROM_ANSWER

    page = await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)
    assert page.status_code == 200, page.text
    _assert_replaced(page.json())
    listed = await client.get(f"{BASE}/execution", headers=tenant.bearer)
    assert listed.status_code == 200, listed.text
    assert execution_id in [run["_id"] for run in listed.json()["docs"]]
    editor_runs = await client.get(
        f"{BASE}/execution",
        params={"workflow_id": workflow, "include_tests": "true", "limit": 25},
        headers=tenant.bearer,
    )
    assert editor_runs.status_code == 200, editor_runs.text
    assert [run["_id"] for run in editor_runs.json()["docs"]] == [execution_id]

    events = await _events(client, tenant, execution_id)
    steps = {e["data"]["node_id"]: e["data"] for e in events if e["event"] == "step"}
    assert steps["2"]["latest_output"] == FROM_CODE
    assert steps["3"]["latest_output"] == FROM_EXPRESSION
    assert steps["4"]["latest_output"]["body"] == FROM_ANSWER
    assert events[-1]["event"] == "status"
    assert events[-1]["data"]["status"] == "COMPLETED"
    assert events[-1]["data"]["output"] == done["output"]


async def test_odd_strings_answer_the_test_route_and_a_sync_caller(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, odd_api: OddApi
) -> None:
    draft = await create_draft(client, tenant, _nodes(odd_api))
    tested = await client.post(
        f"{BASE}/workflow/{draft}/test", json={"payload": {}}, headers=tenant.bearer
    )
    assert tested.status_code == 200, tested.text
    _assert_replaced(tested.json())

    workflow = await publish(client, tenant, _nodes(odd_api))
    answered = await client.post(
        f"{BASE}/workflow/{workflow}/execute",
        json={"payload": {}, "sync_execution": True},
        headers=tenant.bearer,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["body"] == FROM_ANSWER


async def test_a_single_node_run_answers_odd_strings_replaced(
    client: httpx.AsyncClient, tenant: Tenant, odd_api: OddApi
) -> None:
    draft = await create_draft(client, tenant, _nodes(odd_api))
    for node_id, want in (("2", FROM_CODE), ("3", FROM_EXPRESSION)):
        ran = await client.post(
            f"{BASE}/workflow/{draft}/nodes/{node_id}/run", json={}, headers=tenant.bearer
        )
        assert ran.status_code == 200, ran.text
        assert ran.json()["output"] == want


# SQLite only: PostgreSQL's jsonb never held such rows (the run errored instead).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_rows_an_older_version_stored_with_lone_surrogates_read_back_replaced(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, db: Database
) -> None:
    workflow = await publish(client, tenant, [MANUAL_START, node("2", "transform", "T", value=1)])
    done = await run(client, tenant, workflow, {})
    # What the older version wrote: json.dumps' escapes, kept as they were in SQLite's text.
    stored = json.dumps({"k\ud800": ["v\udfff", "n\u0000"]})
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE steps SET output = :v WHERE execution_id = :id"),
            {"v": stored, "id": done["_id"]},
        )
        await session.execute(
            text("UPDATE executions SET output = :v, input = :v WHERE id = :id"),
            {"v": stored, "id": done["_id"]},
        )
    replaced = {"k\ufffd": ["v\ufffd", "n\ufffd"]}
    page = await client.get(f"{BASE}/execution/{done['_id']}", headers=tenant.bearer)
    assert page.status_code == 200, page.text
    assert page.json()["output"] == replaced
    assert [s["latest_output"] for s in page.json()["nodes"]] == [replaced] * 2
    listed = await client.get(
        f"{BASE}/execution", params={"workflow_id": workflow}, headers=tenant.bearer
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["docs"][0]["output"] == replaced
    events = await _events(client, tenant, done["_id"])
    assert [e["data"]["latest_output"] for e in events if e["event"] == "step"] == [replaced] * 2


async def _through_a_test_run(
    client: httpx.AsyncClient, tenant: Tenant, api: OddApi, value: Any
) -> None:
    """`value` made by a code node and answered by an outside API in a test run; every view."""
    api.answer = json.dumps(value).encode()  # escapes and all, as an outside API may send it
    code = node("2", "code", "Code", source=f"return {json.dumps(value)};")
    call = node("3", "http", "Call", url=f"{api.url}/odd")
    draft = await create_draft(client, tenant, [MANUAL_START, code, call])
    want = expected(value)
    tested = await client.post(
        f"{BASE}/workflow/{draft}/test", json={"payload": {}}, headers=tenant.bearer
    )
    assert tested.status_code == 200, tested.text
    run_id = tested.json()["_id"]
    page = await client.get(f"{BASE}/execution/{run_id}", headers=tenant.bearer)
    assert page.status_code == 200, page.text
    for execution in (tested.json(), page.json()):
        assert execution["status"] == "COMPLETED", execution
        assert step(execution, "2")["latest_output"] == want
        assert step(execution, "3")["latest_output"]["body"] == want
    listed = await client.get(
        f"{BASE}/execution",
        params={"workflow_id": draft, "include_tests": "true"},
        headers=tenant.bearer,
    )
    assert listed.status_code == 200, listed.text
    events = await _events(client, tenant, run_id)
    assert events[-1]["data"]["status"] == "COMPLETED"


async def test_any_odd_value_from_code_or_an_outside_answer_reads_back_in_every_view(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, odd_api: OddApi
) -> None:
    loop = asyncio.get_running_loop()

    # Integers within JavaScript's exact range: the code node's value passes through V8.
    @settings(max_examples=12, deadline=None, database=None)
    @given(odd_json(max_int=2**53))
    def through_a_run(value: Any) -> None:
        ran = _through_a_test_run(client, tenant, odd_api, value)
        asyncio.run_coroutine_threadsafe(ran, loop).result()

    # Hypothesis drives its examples from a thread; each runs on the test's own loop.
    await asyncio.to_thread(through_a_run)


async def test_non_finite_numbers_in_an_outside_answer_read_as_null_everywhere(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, odd_api: OddApi
) -> None:
    # Not JSON, but sent by real APIs (Python's json.dumps writes them): read as the numbers
    # they name, then null wherever the run's values go, as PostgreSQL's jsonb cannot hold them.
    odd_api.answer = b'{"ratio": NaN, "high": Infinity, "low": -Infinity, "n": 1}'
    read_back = {"ratio": None, "high": None, "low": None, "n": 1}
    nodes = [
        MANUAL_START,
        node("2", "http", "Call", url=f"{odd_api.url}/odd"),
        node("3", "code", "Code", source="return input.nodes.call.body;"),
        node("4", "respond", "Answer", body="{{ nodes.call.body }}"),
    ]
    workflow = await publish(client, tenant, nodes)
    answered = await client.post(
        f"{BASE}/workflow/{workflow}/execute",
        json={"payload": {}, "sync_execution": True},
        headers=tenant.bearer,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json() == read_back
    done = await finished(client, tenant, answered.headers["x-execution-id"])
    assert done["status"] == "COMPLETED", done
    assert step(done, "2")["latest_output"]["body"] == read_back
    assert step(done, "3")["latest_output"] == read_back


async def test_non_finite_numbers_answer_the_test_route_and_a_single_node_run(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, odd_api: OddApi
) -> None:
    odd_api.answer = b'{"ratio": NaN, "high": Infinity}'
    read_back = {"ratio": None, "high": None}
    call = node("2", "http", "Call", url=f"{odd_api.url}/odd")
    draft = await create_draft(client, tenant, [MANUAL_START, call])
    tested = await client.post(
        f"{BASE}/workflow/{draft}/test", json={"payload": {}}, headers=tenant.bearer
    )
    assert tested.status_code == 200, tested.text
    assert step(tested.json(), "2")["latest_output"]["body"] == read_back
    ran = await client.post(f"{BASE}/workflow/{draft}/nodes/2/run", json={}, headers=tenant.bearer)
    assert ran.status_code == 200, ran.text
    assert ran.json()["output"]["body"] == read_back


def _call_then_send_on(api: OddApi, body: Any) -> list[dict[str, Any]]:
    """Read the odd answer, then POST `body` (built from it) to the same API's echo."""
    return [
        MANUAL_START,
        node("2", "http", "Call", url=f"{api.url}/odd"),
        node("3", "http", "Echo", url=f"{api.url}/echo", method="POST", body=body),
    ]


async def test_non_finite_numbers_become_null_as_they_arrive(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, odd_api: OddApi
) -> None:
    # A request body built from the answer is sent (json.dumps refused NaN: the step failed,
    # where a resumed run, reading the stored null, would have sent it).
    odd_api.answer = b'{"ratio": NaN, "list": [Infinity, 1]}'
    workflow = await publish(client, tenant, _call_then_send_on(odd_api, "{{ nodes.call.body }}"))
    done = await run(client, tenant, workflow, {})
    assert done["status"] == "COMPLETED", done
    assert json.loads(odd_api.received[-1].body) == {"ratio": None, "list": [None, 1]}


async def test_odd_strings_of_an_outside_answer_are_sent_on_as_stored(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, odd_api: OddApi
) -> None:
    # A request body built from an answer holding a lone surrogate: UTF-8 cannot encode one, so
    # the step failed with an encoder's error; it is sent as the run's history shows it.
    odd_api.answer = ODD_ANSWER
    body = {"got": "{{ nodes.call.body }}", "lone": "{{ nodes.call.body.lone }}"}
    workflow = await publish(client, tenant, _call_then_send_on(odd_api, body))
    done = await run(client, tenant, workflow, {})
    assert done["status"] == "COMPLETED", done
    sent = odd_api.received[-1].body
    assert json.loads(sent) == {"got": FROM_ANSWER, "lone": "\ufffd"}
    assert step(done, "3")["latest_output"]["status"] == 200
