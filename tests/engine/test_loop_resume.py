"""A `weft worker` killed (SIGKILL) in the middle of a loop, on SQLite and PostgreSQL: another
worker resumes the run without calling out again for the passes that had finished, and the
execution API still shows every pass of every body step with its output."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.flows import BASE, execute, finished, publish, step
from engine.sink import Sink
from graphs import MANUAL_START, edge, node
from support import Tenant
from weft.store.db import Database
from weft.store.tables import Execution
from worker_processes import start_worker, unexpected_log_lines

pytestmark = pytest.mark.slow

ITEMS = 6
CUT_AT = 2  # the pass whose call is in flight when the worker dies
SLOW_MS = 600  # each call's answer takes this long: the kill lands inside pass CUT_AT's call


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


async def wait_for_call(sink: Sink, path: str, timeout_s: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not sink.calls[path]:
        assert loop.time() < deadline, f"{path} was never called: {dict(sink.calls)}"
        await asyncio.sleep(0.02)


async def test_a_worker_killed_mid_loop_leaves_a_run_that_resumes_without_repeating_passes(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    db_url: str,
    sink: Sink,
    tmp_path: Path,
) -> None:
    nodes = [
        MANUAL_START,
        node("2", "loop", "Each", items="trigger.items"),
        node(
            "3",
            "http",
            "Call",
            method="POST",
            url=sink.url + f"/slow/{SLOW_MS}/" + "{{ loop.index }}",
            body={"item": "{{ loop.item }}"},
        ),
        node("4", "transform", "Pick", value="{{ nodes.call.body.echo.item }}"),
    ]
    edges = [edge("1", "2"), edge("2", "3", "body"), edge("3", "4")]
    workflow_id = await publish(client, tenant, nodes, edges)
    items = [f"item {index}" for index in range(ITEMS)]
    worker = start_worker(db_url, tmp_path)
    try:
        started = await execute(client, tenant, workflow_id, {"items": items})
        assert started.status_code == 200, started.text
        execution_id = started.json()["execution_id"]
        await wait_for_call(sink, f"/slow/{SLOW_MS}/{CUT_AT}")
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        worker = start_worker(db_url, tmp_path)
        done = await finished(client, tenant, execution_id, timeout_s=90)
    finally:
        worker.kill()
        worker.wait()

    assert done["status"] == "COMPLETED", done
    async with db.reading() as session:
        row = await session.get(Execution, execution_id)
    assert row is not None and row.attempt >= 2, "the run was never cut off: nothing was proved"
    calls = {index: sink.calls[f"/slow/{SLOW_MS}/{index}"] for index in range(ITEMS)}
    # Passes that had finished are not called again; only the call in flight may be.
    assert calls == {**{index: 1 for index in range(ITEMS)}, CUT_AT: calls[CUT_AT]}
    assert calls[CUT_AT] in (1, 2)
    assert done["output"] == items

    # The run view: every pass of every body step, with its own output, as the API shows it.
    shown = await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)
    passes = {
        (shown_step["node_id"], shown_step["iteration"]): shown_step
        for shown_step in shown.json()["nodes"]
        if shown_step["node_id"] in ("3", "4")
    }
    assert sorted(passes) == sorted(
        (node_id, str(index)) for node_id in ("3", "4") for index in range(ITEMS)
    )
    for index, item in enumerate(items):
        assert passes[("4", str(index))]["latest_output"] == item
        assert passes[("4", str(index))]["node_status"] == "COMPLETED"
        assert passes[("3", str(index))]["latest_output"]["body"]["echo"] == {"item": item}
    assert step(shown.json(), "2")["latest_output"] == items
    assert unexpected_log_lines(tmp_path) == []
