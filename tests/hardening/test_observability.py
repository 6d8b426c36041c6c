"""What an operator sees: Prometheus metrics, liveness and readiness, JSON logs with ids."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from engine.flows import execute, finished, publish, run
from graphs import MANUAL_START, node
from support import Tenant
from weft.engine.workers.host import Engine
from weft.observability.logs import JsonFormatter, execution_id_var

pytestmark = pytest.mark.integration


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


async def test_metrics_expose_the_claim_latency_of_runs(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    # A short delay parks the run until a due time; the engine's worker then claims it again,
    # which is what the metric times (with no other test before it in this process).
    nap = node("2", "delay", "Nap", seconds=0.2)
    workflow = await publish(client, tenant, [MANUAL_START, nap])
    assert (await run(client, tenant, workflow, {}))["status"] == "COMPLETED"
    lines = (await client.get("/metrics")).text.splitlines()
    count = next(line for line in lines if line.startswith("weft_claim_latency_seconds_count "))
    assert float(count.split()[1]) >= 1
    assert any(line.startswith('weft_claim_latency_seconds_bucket{le="0.1"}') for line in lines)


async def test_weft_worker_logs_json_lines_carrying_the_execution_id(
    client: httpx.AsyncClient, tenant: Tenant, db_url: str, tmp_path: Path
) -> None:
    workflow = await publish(client, tenant, [MANUAL_START, node("2", "transform", "T", value=1)])
    started = await execute(client, tenant, workflow, {})  # no worker in this process
    execution_id = started.json()["execution_id"]
    env = {**os.environ, "WEFT_DATABASE_URL": db_url, "WEFT_DATA_DIR": str(tmp_path)}
    env.update(WEFT_POLL_S="0.05", WEFT_LOG_FORMAT="json", WEFT_LOG_LEVEL="info")
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "weft", "worker"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        done = await finished(client, tenant, execution_id, timeout_s=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), 30)
    assert done["status"] == "COMPLETED", done
    entries = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    about_the_run = [entry for entry in entries if entry.get("execution_id") == execution_id]
    messages = {entry["message"] for entry in about_the_run}
    assert {"run claimed", "run ended"} <= messages, entries
    ended = next(entry for entry in about_the_run if entry["message"] == "run ended")
    assert ended["status"] == "succeeded" and ended["level"] == "info" and ended["time"]


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


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
def test_json_logs_carry_the_execution_id_of_the_run_in_progress() -> None:
    record = logging.makeLogRecord({"name": "weft.runner", "msg": "step %s", "args": ("a",)})
    token = execution_id_var.set("0123456789abcdef01234567")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        execution_id_var.reset(token)
    assert line["execution_id"] == "0123456789abcdef01234567" and line["message"] == "step a"
