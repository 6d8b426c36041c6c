"""A sync caller whose run another process answers: on PostgreSQL a NOTIFY hands it over (no
polling); on SQLite the fallback read finds it, once per tick."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from engine.flows import BASE
from engine.sink import Sink
from graphs import chain, node
from support import TenantFactory
from weft.store.sql_counter import ENV_VAR, read_totals
from worker_processes import free_port, start_server, start_worker, stop

pytestmark = pytest.mark.slow

RUN_S = 1.5  # the slow call: with a 100 ms poll, 15 reads while the caller waits


@pytest.fixture
def sink() -> Sink:
    server = Sink()
    yield server
    server.close()


async def statements_so_far(counts: Path) -> int:
    await asyncio.sleep(0.5)  # the counter writes its totals a few times a second
    return read_totals(counts).get("statements", 0)


async def test_a_sync_caller_is_answered_by_a_run_in_another_process(
    db_url: str, make_tenant: TenantFactory, tmp_path: Path, sink: Sink
) -> None:
    tenant = await make_tenant("acct-far")
    counts = tmp_path / "api-sql"
    port = free_port()
    api = start_server("api", db_url, tmp_path, port, **{ENV_VAR: str(counts)})
    worker = start_worker(db_url, tmp_path)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=tenant.bearer, timeout=30
        ) as http:
            workflow = await _publish_call_and_respond(http, sink.url + "/{{ trigger.ms }}")
            await _sync_execute(http, workflow, "warm")  # the worker is up and has the plan
            before = await statements_so_far(counts)
            fast_s = await _sync_execute(http, workflow, "fast")
            after_fast = await statements_so_far(counts)
            slow_s = await _sync_execute(http, workflow, f"slow/{int(RUN_S * 1000)}")
            after_slow = await statements_so_far(counts)
    finally:
        stop(worker)
        stop(api)
    assert fast_s < 1.0
    # What the slow run cost the API's process beyond the fast one: its waiting.
    waiting_reads = (after_slow - after_fast) - (after_fast - before)
    if "postgresql" in db_url:
        assert waiting_reads <= 1, (before, after_fast, after_slow)  # the once-read, no loop
        assert RUN_S <= slow_s < RUN_S + 0.5  # the NOTIFY arrives as the run answers
    else:
        assert waiting_reads >= 5, (before, after_fast, after_slow)  # the fallback ticks
        assert RUN_S <= slow_s < RUN_S + 1.0


async def _publish_call_and_respond(http: httpx.AsyncClient, url: str) -> str:
    nodes = [
        node("1", "start", "Start", trigger="manual"),
        node("2", "http", "Call", url=url),
        node("3", "respond", "Reply", body={"ms": "{{ trigger.ms }}"}),
    ]
    created = await http.post(f"{BASE}/workflow", json={"name": "far"})
    workflow = str(created.json()["workflow"]["associated_workflow"])
    saved = await http.put(
        f"{BASE}/workflow/{workflow}/draft", json={"nodes": nodes, "edges": chain(*nodes)}
    )
    assert saved.status_code == 200, saved.text
    published = await http.put(f"{BASE}/workflow/{workflow}/publish", json={"published": True})
    assert published.status_code == 200, published.text
    return workflow


async def _sync_execute(http: httpx.AsyncClient, workflow: str, ms: str) -> float:
    started = time.monotonic()
    answer = await http.post(
        f"{BASE}/workflow/{workflow}/execute",
        json={"payload": {"ms": ms}, "sync_execution": True},
    )
    elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    return elapsed
