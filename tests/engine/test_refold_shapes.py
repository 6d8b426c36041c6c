"""Refold's response shapes: lists, node positions, executions, steps, rerun, events, accounts."""

from __future__ import annotations

import httpx
import pytest

from engine.flows import BASE, finished, publish, run, step
from graphs import MANUAL_START, edge, node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration


async def test_list_items_carry_no_null_graph_but_single_reads_carry_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = (await client.post(f"{BASE}/workflow", headers=tenant.bearer)).json()["workflow"]
    workflow_id = created["associated_workflow"]
    (doc,) = (await client.get(f"{BASE}/workflow", headers=tenant.bearer)).json()["docs"]
    assert "nodes" not in doc and "edges" not in doc
    renamed = await client.patch(
        f"{BASE}/workflow/{workflow_id}", json={"name": "x"}, headers=tenant.bearer
    )
    discarded = await client.delete(f"{BASE}/workflow/{workflow_id}/draft", headers=tenant.bearer)
    for answer in (renamed, discarded):
        assert answer.status_code == 200, answer.text
        assert answer.json()["nodes"][0]["type"] == "start" and answer.json()["edges"] == []


async def test_nodes_saved_without_a_position_are_given_one(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = (await client.post(f"{BASE}/workflow", headers=tenant.bearer)).json()["workflow"]
    nodes = [
        MANUAL_START,
        node("2", "condition", "Check", expression="true"),
        node("3", "transform", "Yes", value=1),
        {**node("4", "transform", "No", value=2), "position": {"x": 7, "y": 9}},
    ]
    edges = [edge("1", "2"), edge("2", "3", "true"), edge("2", "4", "false")]
    saved = await client.put(
        f"{BASE}/workflow/{created['associated_workflow']}/draft",
        json={"nodes": nodes, "edges": edges},
        headers=tenant.bearer,
    )
    assert saved.status_code == 200, saved.text
    positions = {n["id"]: n["position"] for n in saved.json()["nodes"]}
    assert positions["4"] == {"x": 7, "y": 9}, "a position that was sent is kept"
    assert positions["1"]["y"] < positions["2"]["y"] < positions["3"]["y"]
    assert len({(p["x"], p["y"]) for p in positions.values()}) == 4


async def test_executions_carry_name_org_completion_and_config_id(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    shape = node("2", "transform", "Shape", value={"double": "{{ trigger.n * 2 }}"})
    wf = await publish(client, tenant, [MANUAL_START, shape], name="Doubler")
    done = await run(client, tenant, wf, {"n": 2})
    assert done["name"] == "Doubler" and done["org_id"] == tenant.org_id
    assert done["completion_percentage"] == 100 and "config_id" in done
    assert done["associated_workflow"] == {"_id": wf, "name": "Doubler"}
    (listed,) = (await client.get(f"{BASE}/execution", headers=tenant.bearer)).json()["docs"]
    assert listed["name"] == "Doubler" and listed["completion_percentage"] == 100


async def test_a_failed_run_reports_the_share_of_nodes_done(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    nodes = [
        MANUAL_START,
        node("2", "transform", "Fine", value=1),
        node("3", "transform", "Broken", value="{{ $error('no') }}"),
        node("4", "transform", "Never", value=2),
    ]
    wf = await publish(client, tenant, nodes)
    done = await run(client, tenant, wf, {})
    assert done["status"] == "FAILED", done
    assert done["completion_percentage"] == 50


async def test_every_step_records_its_resolved_input(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    nodes = [
        MANUAL_START,
        node("2", "condition", "Big", expression="trigger.n > 1"),
        node("3", "transform", "Shape", value={"n": "{{ trigger.n }}"}),
        node("4", "code", "Add", source="input.trigger.n + 1"),
        node("5", "respond", "Reply", body="{{ nodes.add }}"),
    ]
    edges = [edge("1", "2"), edge("2", "3", "true"), edge("3", "4"), edge("4", "5")]
    wf = await publish(client, tenant, nodes, edges)
    done = await run(client, tenant, wf, {"n": 5})
    assert done["status"] == "COMPLETED", done
    assert step(done, "1")["input"] == {"n": 5}
    assert step(done, "2")["input"] == {"expression": True}
    assert step(done, "3")["input"] == {"value": {"n": 5}}
    assert step(done, "4")["input"]["trigger"] == {"n": 5}
    assert step(done, "5")["input"] == {"headers": {}, "body": 6}


async def test_rerun_answers_refolds_shape(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [MANUAL_START])
    first = await run(client, tenant, wf, {"a": 1})
    rerun = await client.post(f"{BASE}/execution/{first['_id']}/rerun", headers=tenant.bearer)
    assert rerun.status_code == 200, rerun.text
    answer = rerun.json()
    assert answer["status"] == "success" and answer["id"] != first["_id"]
    again = await finished(client, tenant, answer["id"])
    assert again["payload"] == {"a": 1}


async def test_event_route_takes_trigger_as_event_and_answers_refolds_message(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    listening = node("1", "start", "Start", trigger="event", event="lead.created")
    await publish(client, tenant, [listening])
    for path in ("/event/trigger", "/event"):
        fired = await client.post(
            f"{BASE}{path}",
            json={"trigger": "lead.created", "payload": {"x": 1}},
            headers=tenant.bearer,
        )
        assert fired.status_code == 200, fired.text
        assert fired.json()["message"] == "Webhook Fired Success"
        (execution_id,) = fired.json()["execution_ids"]
        assert (await finished(client, tenant, execution_id))["payload"] == {"x": 1}
    missing = await client.post(f"{BASE}/event/trigger", json={}, headers=tenant.bearer)
    assert_envelope(missing, 400, "INVALID_INPUT")


async def test_linked_account_delete_answers_refolds_message(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.post(
        f"{BASE}/linked-account", json={"linked_account_id": "gone"}, headers=tenant.org_key
    )
    deleted = await client.delete(f"{BASE}/linked-account/gone", headers=tenant.org_key)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["message"] == "User deleted successfully"
