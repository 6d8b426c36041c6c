"""One expression scope: a live run, a test run, run-node and the preview read the same data."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import httpx
import pytest

import weft.engine
from engine.flows import BASE, create_draft, finished, step
from graphs import node
from source_trees import parsed
from support import Tenant
from weft.engine.workers.host import Engine

CONFIG = "/api/v2/f-sdk/config"
TRIGGER = {"name": "Ada"}
START = node("1", "start", "Start", trigger="manual", sample_payload=TRIGGER)
# Everything an expression can read, short of the scope itself (a step's output holding
# `nodes` would hold itself once recorded).
PROBE = {
    "keys": "{{ $keys($) }}",
    "trigger": "{{ trigger }}",
    "upstream": "{{ nodes }}",
    "loop": "{{ loop }}",
    "env": "{{ env }}",
    "config": "{{ config }}",
    "region": "{{ config.fields.region }}",
}
OUT = node("2", "transform", "Out", value=PROBE)


async def _live_run_of_a_public_workflow(client: httpx.AsyncClient, tenant: Tenant) -> Any:
    """The probe's output in a live run with the account's config (fields: region eu)."""
    created = await client.post(
        f"{BASE}/workflow", json={"name": "Probe", "slug": "slack"}, headers=tenant.org_key
    )
    workflow_id = created.json()["workflow"]["associated_workflow"]
    graph = {"nodes": [START, OUT], "edges": [{"id": "e", "source": "1", "target": "2"}]}
    for method, path, body in [
        ("PUT", f"{BASE}/workflow/{workflow_id}/draft", graph),
        ("PUT", f"{BASE}/workflow/{workflow_id}/publish", {"published": True}),
    ]:
        answer = await client.request(method, path, json=body, headers=tenant.org_key)
        assert answer.status_code == 200, answer.text
    await client.post(CONFIG, json={"slug": "slack"}, headers=tenant.bearer)
    configured = await client.put(
        CONFIG,
        json={
            "slug": "slack",
            "fields": {"region": "eu"},
            "workflows": [{"id": workflow_id, "enabled": True}],
        },
        headers=tenant.bearer,
    )
    assert configured.status_code == 200, configured.text
    started = await client.post(
        f"{BASE}/workflow/{workflow_id}/execute", json={"payload": TRIGGER}, headers=tenant.bearer
    )
    assert started.status_code == 200, started.text
    done = await finished(client, tenant, started.json()["execution_id"])
    assert done["status"] == "COMPLETED", done
    return step(done, "2")["latest_output"]


@pytest.mark.integration
async def test_a_live_run_a_test_run_run_node_and_the_preview_read_the_same_scope(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    live = await _live_run_of_a_public_workflow(client, tenant)
    config = live["config"]
    assert live["region"] == "eu" and config["fields"] == {"region": "eu"}
    assert live["keys"] == ["trigger", "nodes", "loop", "env", "config"]
    assert live["upstream"] == {"start": TRIGGER} and live["loop"] is None

    # The editor works on the account's own draft of the same graph, given the same config.
    draft = await create_draft(client, tenant, [START, OUT])
    tested = await client.post(
        f"{BASE}/workflow/{draft}/test",
        json={"payload": TRIGGER, "config": config},
        headers=tenant.bearer,
    )
    assert tested.status_code == 200, tested.text
    assert step(tested.json(), "2")["latest_output"] == live

    alone = await client.post(
        f"{BASE}/workflow/{draft}/nodes/2/run",
        json={"trigger": TRIGGER, "nodes": {"start": TRIGGER}, "config": config},
        headers=tenant.bearer,
    )
    assert alone.status_code == 200, alone.text
    assert alone.json()["output"] == live

    # The preview reads the test run's data, config included, as that run read it.
    preview = f"{BASE}/workflow/{draft}/expression/preview"
    previewed = await client.post(
        preview, json={"template": PROBE, "node_id": "2"}, headers=tenant.bearer
    )
    assert previewed.json()["value"] == live
    for body in (
        {"expression": "config.fields.region"},
        {"expression": "config.fields.region", "config": {"fields": {"region": "eu"}}},
    ):
        answer = await client.post(preview, json=body, headers=tenant.bearer)
        assert answer.json()["value"] == "eu"


@pytest.mark.integration
async def test_without_a_config_every_path_reads_an_empty_one_as_a_private_live_run_does(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    draft = await create_draft(client, tenant, [START, OUT])
    preview = f"{BASE}/workflow/{draft}/expression/preview"
    before = await client.post(preview, json={"expression": "config"}, headers=tenant.bearer)
    assert before.json() == {"value": {}, "error": None, "execution_id": None}
    alone = await client.post(
        f"{BASE}/workflow/{draft}/nodes/2/run", json={"trigger": TRIGGER}, headers=tenant.bearer
    )
    assert alone.json()["output"]["config"] == {}
    tested = await client.post(f"{BASE}/workflow/{draft}/test", json={}, headers=tenant.bearer)
    assert step(tested.json(), "2")["latest_output"]["config"] == {}


@pytest.mark.unit
def test_the_engine_builds_the_scope_in_one_place() -> None:
    """No dict literal with the scope's keys outside engine.interpreter.context.expression_scope."""
    root = Path(weft.engine.__file__).parent
    builders = []
    for path in root.rglob("*.py"):
        for found in ast.walk(parsed(path)):
            if isinstance(found, ast.Dict):
                keys = {k.value for k in found.keys if isinstance(k, ast.Constant)}
                if {"trigger", "nodes", "env"} <= keys:
                    builders.append(path.name)
    assert builders == ["context.py"]
