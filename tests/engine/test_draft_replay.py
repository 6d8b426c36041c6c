""" "What changes if I publish": live runs replayed through the draft, step outputs compared."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from engine.flows import BASE, publish, run
from engine.sink import Sink
from graphs import chain, node
from support import Tenant, assert_envelope
from weft.api.replays import VALUE_CAP_BYTES
from weft.engine.starts.replays import KEPT
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

START = node("1", "start", "Start", trigger="manual", sample_payload={"name": "Ada"})
TAIL = node("4", "transform", "Tail", value={"who": "{{ trigger.name }}"})


def greet(value: dict[str, Any]) -> dict[str, Any]:
    return node("2", "transform", "Greet", value=value)


def post(sink: Sink, path: str) -> dict[str, Any]:
    body = {"greeting": "{{ nodes.greet.greeting }}"}
    return node("3", "http", "Post", method="POST", url=f"{sink.url}{path}", body=body)


@pytest.fixture(scope="module")
def sink() -> Sink:
    server = Sink()
    yield server
    server.close()


async def save_draft(
    client: httpx.AsyncClient, tenant: Tenant, workflow_id: str, nodes: list[dict[str, Any]]
) -> None:
    graph = {"nodes": nodes, "edges": chain(*nodes)}
    saved = await client.put(
        f"{BASE}/workflow/{workflow_id}/draft", json=graph, headers=tenant.bearer
    )
    assert saved.status_code == 200, saved.text


async def replay_done(
    client: httpx.AsyncClient, tenant: Tenant, workflow_id: str, count: int
) -> dict[str, Any]:
    """Start a replay and read it until every run is compared."""
    started = await client.post(
        f"{BASE}/workflow/{workflow_id}/draft/replay", json={"count": count}, headers=tenant.bearer
    )
    assert started.status_code == 202, started.text
    replay_id = started.json()["id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # only a badly loaded machine comes near this
    while True:
        got = await client.get(
            f"{BASE}/workflow/{workflow_id}/draft/replay/{replay_id}", headers=tenant.bearer
        )
        assert got.status_code == 200, got.text
        report = dict(got.json())
        if report["status"] == "done":
            return report
        assert loop.time() < deadline, report
        await asyncio.sleep(0.05)


async def test_replay_reports_exactly_the_step_the_draft_changes(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    path = f"/replay/{tenant.org_id}"
    live_greet = greet({"greeting": "Hello {{ trigger.name }}", "name": "{{ trigger.name }}"})
    workflow_id = await publish(client, tenant, [START, live_greet, post(sink, path), TAIL])
    names = ["Ada", "Grace", "Linus"]
    live_ids = [(await run(client, tenant, workflow_id, {"name": n}))["_id"] for n in names]
    assert sink.calls[path] == 3
    draft_greet = greet(
        {"greeting": "Hi {{ trigger.name }}", "name": "{{ trigger.name }}", "excited": True}
    )
    await save_draft(client, tenant, workflow_id, [START, draft_greet, post(sink, path), TAIL])

    report = await replay_done(client, tenant, workflow_id, count=20)

    assert sink.calls[path] == 3  # the write was held back in every replayed run
    assert report["total"] == 3 and report["with_changes"] == 3 and report["pending"] == 0
    assert [r["live_execution_id"] for r in report["runs"]] == live_ids[::-1]  # newest first
    for replayed, name in zip(report["runs"], names[::-1], strict=True):
        assert replayed["status"] == "changed", replayed
        assert replayed["trigger"] == {"name": name}
        by_id = {step["node_id"]: step for step in replayed["steps"]}
        assert {i: s["change"] for i, s in by_id.items()} == {
            "1": "same",
            "2": "changed",
            "3": "same",  # answered its live output, so the steps after it compare fairly
            "4": "same",
        }
        assert replayed["changed"] == 1 and replayed["unchanged"] == 3
        assert by_id["2"]["diff"] == [
            {
                "path": "$.output.greeting",
                "kind": "changed",
                "old": f"Hello {name}",
                "new": f"Hi {name}",
            },
            {"path": "$.output.excited", "kind": "added", "old": None, "new": True},
        ]
        assert by_id["3"]["held_back"] is False and by_id["3"]["new_status"] == "succeeded"


async def test_replay_reports_removed_and_added_steps_and_failures(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    workflow_id = await publish(client, tenant, [START, TAIL])
    await run(client, tenant, workflow_id, {"name": "Ada"})
    failing = node("5", "code", "Boom", source="throw new Error('no')")
    fine = greet({"greeting": "Hi"})
    await save_draft(client, tenant, workflow_id, [START, fine, failing])

    report = await replay_done(client, tenant, workflow_id, count=1)

    (replayed,) = report["runs"]
    changes = {step["node_id"]: step["change"] for step in replayed["steps"]}
    assert changes == {"1": "same", "4": "removed", "2": "added", "5": "added"}
    assert replayed["live_status"] == "succeeded" and replayed["test_status"] == "failed"


async def test_replay_of_a_workflow_without_live_runs_is_done_at_once(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    workflow_id = await publish(client, tenant, [START, TAIL])
    report = await replay_done(client, tenant, workflow_id, count=5)
    assert report["total"] == 0 and report["runs"] == [] and report["requested"] == 5


async def test_a_live_run_without_stored_steps_is_reported_plainly(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, app: Any
) -> None:
    from sqlalchemy import delete

    from weft.api.deps import app_state
    from weft.store.tables import Step

    workflow_id = await publish(client, tenant, [START, TAIL])
    live = await run(client, tenant, workflow_id, {"name": "Ada"})
    async with app_state(app).services.db.transaction() as session:
        await session.execute(delete(Step).where(Step.execution_id == live["_id"]))

    report = await replay_done(client, tenant, workflow_id, count=1)

    (replayed,) = report["runs"]
    assert replayed["status"] == "no_outputs" and replayed["steps"] == []
    assert "nothing to compare" in replayed["message"]


@pytest.mark.parametrize("count", [0, -1, 101, 10**6, 10**30])
async def test_a_count_out_of_range_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, count: int
) -> None:
    workflow_id = await publish(client, tenant, [START, TAIL])
    response = await client.post(
        f"{BASE}/workflow/{workflow_id}/draft/replay", json={"count": count}, headers=tenant.bearer
    )
    assert_envelope(response, 400, "REPLAY_COUNT_OUT_OF_RANGE")


@pytest.mark.parametrize("body", [{"count": "lots"}, {"count": None}, [1], "x"])
async def test_a_malformed_body_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, body: Any
) -> None:
    workflow_id = await publish(client, tenant, [START, TAIL])
    response = await client.post(
        f"{BASE}/workflow/{workflow_id}/draft/replay", json=body, headers=tenant.bearer
    )
    assert_envelope(response, 400, "INVALID_INPUT")


async def test_a_draft_that_cannot_run_is_refused_with_its_problems(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow_id = await publish(client, tenant, [START, TAIL])
    broken = node("2", "transform", "Broken", value="{{ nodes.missing.x }}")
    await save_draft(client, tenant, workflow_id, [START, broken, node("3", "code", "Odd")])
    response = await client.post(
        f"{BASE}/workflow/{workflow_id}/draft/replay", json={}, headers=tenant.bearer
    )
    body = assert_envelope(response, 422, "INVALID_WORKFLOW_GRAPH")
    assert {e["node_id"] for e in body["errors"]} >= {"3"}


async def test_replays_stay_within_their_account(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any, engine: Engine
) -> None:
    workflow_id = await publish(client, tenant, [START, TAIL])
    started = await client.post(
        f"{BASE}/workflow/{workflow_id}/draft/replay", json={"count": 1}, headers=tenant.bearer
    )
    replay_id = started.json()["id"]
    other = await make_tenant("acct-b", org_id=tenant.org_id)
    path = f"{BASE}/workflow/{workflow_id}/draft/replay"
    assert (await client.post(path, json={}, headers=other.bearer)).status_code == 404
    got = await client.get(f"{path}/{replay_id}", headers=other.bearer)
    assert got.status_code == 404, got.text
    unknown = await client.get(f"{path}/{'0' * 24}", headers=tenant.bearer)
    assert_envelope(unknown, 404, "REPLAY_NOT_FOUND")


async def test_only_the_newest_replays_are_kept(client: httpx.AsyncClient, tenant: Tenant) -> None:
    workflow_id = await publish(client, tenant, [START, TAIL])
    path = f"{BASE}/workflow/{workflow_id}/draft/replay"
    ids = []
    for _ in range(KEPT + 1):
        started = await client.post(path, json={"count": 1}, headers=tenant.bearer)
        ids.append(started.json()["id"])
    first = await client.get(f"{path}/{ids[0]}", headers=tenant.bearer)
    assert_envelope(first, 404, "REPLAY_NOT_FOUND")
    assert (await client.get(f"{path}/{ids[1]}", headers=tenant.bearer)).status_code == 200


async def test_big_values_in_a_report_are_capped(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    echo = node("2", "transform", "Echo", value={"text": "{{ trigger.text }}"})
    workflow_id = await publish(client, tenant, [START, echo])
    big = "x" * (VALUE_CAP_BYTES + 100)
    await run(client, tenant, workflow_id, {"text": big})
    shorter = node("2", "transform", "Echo", value={"text": "short"})
    await save_draft(client, tenant, workflow_id, [START, shorter])

    report = await replay_done(client, tenant, workflow_id, count=1)

    (replayed,) = report["runs"]
    assert replayed["trigger"]["truncated"] is True
    (row,) = next(s for s in replayed["steps"] if s["node_id"] == "2")["diff"]
    assert row["path"] == "$.output.text" and row["new"] == "short"
    assert row["old"]["truncated"] is True and row["old"]["size"] > VALUE_CAP_BYTES


async def test_a_replay_past_a_quota_is_refused_and_queues_nothing(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    quotas = await client.put(
        f"{BASE}/quotas",
        params={"linked_account_id": tenant.account_id},
        json={"runs_per_month": 3},
        headers=tenant.org_key,
    )
    assert quotas.status_code == 200, quotas.text
    workflow_id = await publish(client, tenant, [START, TAIL])
    for name in ("Ada", "Grace"):
        await run(client, tenant, workflow_id, {"name": name})
    path = f"{BASE}/workflow/{workflow_id}/draft/replay"

    refused = await client.post(path, json={"count": 2}, headers=tenant.bearer)

    body = assert_envelope(refused, 429, "QUOTA_EXCEEDED")
    assert body["quota"] == "runs_per_month"
    listed = await client.get(
        f"{BASE}/execution",
        params={"workflow_id": workflow_id, "include_tests": "true"},
        headers=tenant.bearer,
    )
    assert listed.json()["totalDocs"] == 2  # the live runs only
    assert (await client.post(path, json={"count": 1}, headers=tenant.bearer)).status_code == 202
