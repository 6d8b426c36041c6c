"""Testing from the editor: safe mode holds writes back, pins stand in, nothing leaks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from engine.flows import BASE, create_draft, finished, step
from engine.sink import Sink
from graphs import node
from support import Tenant, TenantFactory, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

START = node("1", "start", "Start", trigger="manual", sample_payload={"name": "Ada"})


@pytest.fixture(scope="module")
def sink() -> Sink:
    server = Sink()
    yield server
    server.close()


async def test_run(
    client: httpx.AsyncClient, tenant: Tenant, workflow_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{BASE}/workflow/{workflow_id}/test", json=body, headers=tenant.bearer
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


test_run.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def post_node(sink: Sink, path: str) -> dict[str, Any]:
    return node(
        "2",
        "http",
        "Post",
        method="POST",
        url=f"{sink.url}{path}?api_key=k-123&page=1",
        headers={"Authorization": "Bearer s3cret", "X-Trace": "{{ trigger.name }}"},
        body={"name": "{{ trigger.name }}", "password": "hunter2"},
    )


async def test_safe_mode_holds_a_write_back_and_shows_the_request(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    path = f"/safe/{tenant.org_id}"
    after = node("3", "transform", "After", value="{{ nodes.post.would_send.body.name }}")
    workflow_id = await create_draft(client, tenant, [START, post_node(sink, path), after])

    done = await test_run(client, tenant, workflow_id)

    assert done["status"] == "COMPLETED", done
    assert sink.calls[path] == 0  # nothing was sent
    held = step(done, "2")
    assert held["node_status"] == "SKIPPED" and held["pinned"] is False
    would_send = held["latest_output"]["would_send"]
    assert held["latest_output"]["safe_mode"] is True
    assert would_send["method"] == "POST"
    assert would_send["url"] == f"{sink.url}{path}?api_key=[redacted]&page=1"
    assert would_send["headers"] == {"Authorization": "[redacted]", "X-Trace": "Ada"}
    assert would_send["body"] == {"name": "Ada", "password": "[redacted]"}
    assert "s3cret" not in json.dumps(done) and "hunter2" not in json.dumps(done)
    assert step(done, "3")["latest_output"] == "Ada"  # later steps see the stand-in output

    for_real = await test_run(client, tenant, workflow_id, run_for_real=["2"])
    assert step(for_real, "2")["node_status"] == "COMPLETED"
    assert sink.calls[path] == 1
    unsafe = await test_run(client, tenant, workflow_id, safe_mode=False)
    assert step(unsafe, "2")["node_status"] == "COMPLETED" and sink.calls[path] == 2


async def test_reads_run_in_safe_mode(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    path = f"/read/{tenant.org_id}"
    fetch = node("2", "http", "Fetch", url=f"{sink.url}{path}")
    workflow_id = await create_draft(client, tenant, [START, fetch])
    done = await test_run(client, tenant, workflow_id)
    assert step(done, "2")["node_status"] == "COMPLETED" and sink.calls[path] == 1


async def test_a_pinned_step_does_not_run_and_later_steps_use_its_output(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    path = f"/pinned/{tenant.org_id}"
    fetch = node("2", "http", "Fetch", url=f"{sink.url}{path}")
    use = node("3", "transform", "Use", value="{{ nodes.fetch.body.id }}")
    workflow_id = await create_draft(client, tenant, [START, fetch, use])
    pinned_output = {"status": 200, "headers": {}, "body": {"id": 42}}

    done = await test_run(client, tenant, workflow_id, pinned={"2": pinned_output})

    assert sink.calls[path] == 0
    assert step(done, "2")["pinned"] is True
    assert step(done, "2")["node_status"] == "COMPLETED"
    assert step(done, "2")["latest_output"] == pinned_output
    assert step(done, "3")["latest_output"] == 42 and step(done, "3")["pinned"] is False


async def test_pins_and_run_for_real_must_name_fitting_nodes(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    check = node("2", "condition", "Check", expression="true")
    end = node("3", "transform", "Yes", value=1)
    workflow_id = await create_draft(
        client,
        tenant,
        [START, check, end],
        [
            {"source": "1", "target": "2"},
            {"source": "2", "target": "3", "sourceHandle": "true"},
        ],
    )
    url = f"{BASE}/workflow/{workflow_id}/test"
    pin_branch = await client.post(url, json={"pinned": {"2": {}}}, headers=tenant.bearer)
    assert_envelope(pin_branch, 400, "PIN_NOT_ALLOWED")
    ghost = await client.post(url, json={"run_for_real": ["9"]}, headers=tenant.bearer)
    assert_envelope(ghost, 400, "NODE_NOT_FOUND")


async def test_wait_false_answers_202_and_the_stream_takes_the_token_in_the_query(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    workflow_id = await create_draft(client, tenant, [START, node("2", "transform", "T", value=1)])
    started = await client.post(
        f"{BASE}/workflow/{workflow_id}/test", json={"wait": False}, headers=tenant.bearer
    )
    assert started.status_code == 202, started.text
    execution_id = started.json()["execution_id"]

    events: list[tuple[str, Any]] = []
    async with client.stream(
        "GET", f"{BASE}/execution/{execution_id}/events", params={"token": tenant.token}
    ) as stream:
        assert stream.status_code == 200
        name = ""
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    assert [n for n, _ in events] == ["step", "step", "status"]
    assert events[-1][1]["status"] == "COMPLETED" and events[-1][1]["is_test"] is True

    bad = await client.get(f"{BASE}/execution/{execution_id}/events", params={"token": "nope"})
    assert_envelope(bad, 401)


async def test_a_stream_token_of_another_account_sees_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, engine: Engine
) -> None:
    workflow_id = await create_draft(client, tenant, [START])
    started = await client.post(
        f"{BASE}/workflow/{workflow_id}/test", json={"wait": False}, headers=tenant.bearer
    )
    other = await make_tenant("acct-b", org_id=tenant.org_id)
    execution_id = started.json()["execution_id"]
    foreign = await client.get(
        f"{BASE}/execution/{execution_id}/events", params={"token": other.token}
    )
    assert_envelope(foreign, 404, "EXECUTION_NOT_FOUND")
    await finished(client, tenant, execution_id)


async def test_step_data_over_64_kib_comes_back_truncated(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    workflow_id = await create_draft(
        client, tenant, [START, node("2", "transform", "T", value="ok")]
    )
    big = {"blob": "é" * 40_000}  # 80 000 bytes of UTF-8
    done = await test_run(client, tenant, workflow_id, payload=big)
    output = step(done, "1")["latest_output"]
    assert output["truncated"] is True
    assert output["size"] == len(
        json.dumps(big, ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert len(output["preview"].encode()) <= 64 * 1024
    assert output["preview"].startswith('{"blob":"éé')
    assert step(done, "2")["latest_output"] == "ok"


async def test_run_node_previews_a_write_unless_run_for_real(
    client: httpx.AsyncClient, tenant: Tenant, sink: Sink
) -> None:
    path = f"/single-safe/{tenant.org_id}"
    workflow_id = await create_draft(client, tenant, [START, post_node(sink, path)])
    url = f"{BASE}/workflow/{workflow_id}/nodes/2/run"
    inputs = {"trigger": {"name": "Bo"}}
    held = (await client.post(url, json=inputs, headers=tenant.bearer)).json()
    assert held["status"] == "SKIPPED" and sink.calls[path] == 0
    assert held["output"]["would_send"]["headers"]["X-Trace"] == "Bo"
    assert held["output"]["would_send"]["headers"]["Authorization"] == "[redacted]"
    sent = await client.post(url, json={**inputs, "run_for_real": True}, headers=tenant.bearer)
    assert sent.json()["status"] == "COMPLETED" and sink.calls[path] == 1


async def test_expression_preview_uses_the_latest_test_run_upstream_of_the_node(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    first = node("2", "transform", "First", value={"n": "{{ trigger.n * 2 }}"})
    second = node("3", "transform", "Second", value="{{ nodes.first.n + 1 }}")
    workflow_id = await create_draft(client, tenant, [START, first, second])
    url = f"{BASE}/workflow/{workflow_id}/expression/preview"

    async def preview(**body: Any) -> dict[str, Any]:
        response = await client.post(url, json=body, headers=tenant.bearer)
        assert response.status_code == 200, response.text
        return dict(response.json())

    before = await preview(expression="trigger.name", node_id="2")
    assert before == {"value": "Ada", "error": None, "execution_id": None}  # the sample payload

    done = await test_run(client, tenant, workflow_id, payload={"n": 5})
    assert (await preview(expression="nodes.first.n", node_id="3"))["value"] == 10
    templated = await preview(template={"msg": "n is {{ nodes.first.n }}"}, node_id="3")
    assert templated["value"] == {"msg": "n is 10"} and templated["execution_id"] == done["_id"]
    # A node sees only what runs before it.
    assert (await preview(expression="nodes.second", node_id="2"))["value"] is None
    assert (await preview(expression="nodes.second"))["value"] == 11

    broken = await preview(expression="nodes.first.n +", node_id="3")
    assert broken["value"] is None and broken["error"]
    missing = await client.post(
        url, json={"expression": "1", "node_id": "9"}, headers=tenant.bearer
    )
    assert_envelope(missing, 404, "NODE_NOT_FOUND")
    neither = await client.post(url, json={"node_id": "2"}, headers=tenant.bearer)
    assert_envelope(neither, 400)


async def test_expression_preview_refuses_another_workflows_run(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, engine: Engine
) -> None:
    mine = await create_draft(client, tenant, [START])
    other = await create_draft(client, tenant, [START])
    run_of_other = await test_run(client, tenant, other)
    response = await client.post(
        f"{BASE}/workflow/{mine}/expression/preview",
        json={"expression": "trigger", "execution_id": run_of_other["_id"]},
        headers=tenant.bearer,
    )
    assert_envelope(response, 404, "EXECUTION_NOT_FOUND")
    stranger = await make_tenant("acct-b", org_id=tenant.org_id)
    foreign = await client.post(
        f"{BASE}/workflow/{mine}/expression/preview",
        json={"expression": "trigger"},
        headers=stranger.bearer,
    )
    assert_envelope(foreign, 404, "WORKFLOW_NOT_FOUND")
    await asyncio.sleep(0)


async def test_expression_preview_inside_a_loop_sees_the_first_item(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    each = node("2", "loop", "Each", items="trigger.items")
    double = node("3", "transform", "Double", value="{{ loop.item * 2 }}")
    workflow_id = await create_draft(
        client,
        tenant,
        [START, each, double],
        [{"source": "1", "target": "2"}, {"source": "2", "target": "3", "sourceHandle": "body"}],
    )
    done = await test_run(client, tenant, workflow_id, payload={"items": [4, 5]})
    assert done["status"] == "COMPLETED", done
    response = await client.post(
        f"{BASE}/workflow/{workflow_id}/expression/preview",
        json={"expression": "loop.item + loop.index", "node_id": "3"},
        headers=tenant.bearer,
    )
    assert response.json()["value"] == 4
