"""What an operator sees: Prometheus metrics, liveness and readiness, JSON logs with ids."""

from __future__ import annotations

import io
import json
import logging

import httpx

from engine.flows import publish, run
from graphs import MANUAL_START, node
from support import Tenant
from weft.engine.host import Engine
from weft.observability.logs import JsonFormatter, execution_id_var


async def test_metrics_expose_runs_steps_queue_and_http_latency(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    workflow = await publish(client, tenant, [MANUAL_START, node("2", "transform", "T", value=1)])
    assert (await run(client, tenant, workflow, {}))["status"] == "COMPLETED"
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'weft_runs_ended_total{status="succeeded"}' in text
    assert 'weft_step_duration_seconds_count{node_type="transform",status="succeeded"}' in text
    assert "weft_queue_depth " in text and "weft_queue_oldest_age_seconds " in text
    assert 'weft_active_runs{status="queued"}' in text
    assert 'route="/api/v2/public/workflow/{workflow_id}/execute"' in text


async def test_healthz_and_readyz_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    assert (await client.get("/readyz")).json()["status"] == "ready"


async def test_json_logs_carry_the_request_id(client: httpx.AsyncClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("weft.access")
    access.addHandler(handler)
    previous = access.level
    access.setLevel(logging.INFO)
    try:
        answer = await client.get("/healthz")
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["request_id"] == answer.headers["x-request-id"]
    assert line["route"] == "/healthz" and line["status"] == 200 and line["level"] == "info"


def test_json_logs_carry_the_execution_id_of_the_run_in_progress() -> None:
    record = logging.makeLogRecord({"name": "weft.runner", "msg": "step %s", "args": ("a",)})
    token = execution_id_var.set("0123456789abcdef01234567")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        execution_id_var.reset(token)
    assert line["execution_id"] == "0123456789abcdef01234567" and line["message"] == "step a"
