"""The fault suite's load and its invariants.

The load: runs of a workflow with several steps, two outside HTTP calls to a real server on
127.0.0.1 (the Sink, which records each call with the time it arrived) and a durable delay;
each run is triggered through the API with an `Idempotency-Key`, retried by the client until
accepted, as a client facing an outage would.

The invariants, checked after each fault:
- every accepted trigger yields exactly one execution, and no execution comes from elsewhere;
- completed steps never repeat: every outside call a committed step made arrived before the
  database committed that step (PostgreSQL's own commit time, not Weft's clock, which the
  clock-jump test shifts). Calls of steps in flight when a fault struck may be repeated
  (at-least-once); each such repeat is counted;
- every run ends (here: succeeds) or visibly waits (status waiting, with a due time).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import text

from engine.flows import BASE, execute, publish
from engine.sink import Sink
from graphs import node
from support import Tenant
from weft.store.db import Database
from worker_processes import TERMINAL_STATUSES

CALLS_PER_RUN = 2
# Lines a worker logs when its database goes away for a while (restart, cut connection): one
# warning per failed operation, the work is retried. Anything else in the logs fails a test.
DATABASE_OUTAGE_WARNINGS = ("database unavailable",)


def load_nodes(sink_url: str, *, call_ms: int = 100, delay_s: float = 0.3) -> list[dict[str, Any]]:
    """start -> call a -> note -> delay -> call b -> done, as one chain."""
    return [
        node("1", "start", "Start", trigger="manual"),
        node(
            "2",
            "http",
            "Call a",
            method="POST",
            url=f"{sink_url}/slow/{call_ms}/" + "{{ trigger.i }}/a",
        ),
        node("3", "transform", "Note", value="{{ trigger.i }}"),
        node("4", "delay", "Wait", seconds=delay_s),
        node(
            "5",
            "http",
            "Call b",
            method="POST",
            url=f"{sink_url}/slow/{call_ms}/" + "{{ trigger.i }}/b",
        ),
        node("6", "transform", "Done", value="done {{ trigger.i }}"),
    ]


async def publish_load(client: httpx.AsyncClient, tenant: Tenant, sink: Sink, **shape: Any) -> str:
    """The load workflow, published; its id."""
    return await publish(client, tenant, load_nodes(sink.url, **shape), name="fault load")


@dataclass
class Triggers:
    """Fires numbered runs of one workflow through the API, as a patient client would."""

    client: httpx.AsyncClient
    tenant: Tenant
    workflow_id: str
    accepted: dict[int, str] = field(default_factory=dict)  # run number -> execution id
    refusals: Counter[int] = field(default_factory=Counter)  # status code -> how many
    resent: int = 0
    # Behind a reverse proxy, a 502 says the host serving the request died with it in flight
    # (tests/faults/test_host_kills.py): the client retries as it would for an outage.
    through_proxy: bool = False

    async def fire(self, i: int, *, give_up_after_s: float = 60) -> str:
        """Trigger run `i` (retrying with the same Idempotency-Key until accepted); its id."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + give_up_after_s
        key = f"fault-run-{i}"
        while True:
            try:
                started = await execute(
                    self.client, self.tenant, self.workflow_id, {"i": i}, **{"Idempotency-Key": key}
                )
            except httpx.TransportError:
                self.refusals[0] += 1
            else:
                if started.status_code == 200:
                    execution_id = str(started.json()["execution_id"])
                    earlier = self.accepted.setdefault(i, execution_id)
                    assert earlier == execution_id, (
                        f"run {i} accepted twice: {earlier}, {execution_id}"
                    )
                    return execution_id
                if not (self.through_proxy and started.status_code == 502):
                    assert started.status_code == 503, started.text  # an outage, never a 500
                    assert started.json()["error_code"] == "DATABASE_BUSY", started.text
                    assert "retry-after" in started.headers
                self.refusals[started.status_code] += 1
            assert loop.time() < deadline, f"run {i} was never accepted"
            await asyncio.sleep(0.1)

    async def fire_many(self, numbers: range, *, every_s: float = 0.0) -> None:
        """Fire these runs one after another; every tenth is sent twice (a client retry)."""
        for i in numbers:
            await self.fire(i)
            if i % 10 == 0:
                await self.fire(i)  # the same key again: the same execution
                self.resent += 1
            if every_s:
                await asyncio.sleep(every_s)

    async def keep_in_flight(self, db: Database, target: int, stop: asyncio.Event) -> None:
        """Until `stop` is set, top the runs not yet ended up to `target` every 0.2 s."""
        while not stop.is_set():
            try:
                counts = await wait_settled(db, self.ids, timeout_s=0) if self.ids else {}
            except Exception:  # the database is down: the client keeps trying below
                counts = {}
            active = sum(n for status, n in counts.items() if status not in TERMINAL_STATUSES)
            start = len(self.accepted)
            await self.fire_many(range(start, start + max(0, target - active)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    @property
    def ids(self) -> list[str]:
        return list(self.accepted.values())


async def wait_settled(
    db: Database, ids: list[str], timeout_s: float, *, waiting_counts: bool = False
) -> dict[str, int]:
    """Status counts once every run ended (or waits, if `waiting_counts`), or at the timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    settled = TERMINAL_STATUSES | ({"waiting"} if waiting_counts else set())
    while True:
        rows = await _query(
            db, "SELECT status, count(*) FROM executions WHERE id = ANY(:ids) GROUP BY status", ids
        )
        counts = {status: n for status, n in rows}
        if set(counts) <= settled or loop.time() > deadline:
            return counts
        await asyncio.sleep(0.2)


@dataclass
class Figures:
    """What one fault test saw, for docs/security.md."""

    runs: int
    calls: int
    repeated_in_flight_calls: int
    reclaimed_runs: int
    waiting: int


async def check_invariants(
    db: Database,
    triggers: Triggers,
    sink: Sink,
    *,
    may_wait: bool = False,
) -> Figures:
    """Assert the suite's invariants on the runs `triggers` started; the figures."""
    executions = await _query(
        db,
        "SELECT id, input, status, due_at, attempt FROM executions WHERE workflow_id = :workflow",
        workflow=triggers.workflow_id,
    )
    # Every accepted trigger yields exactly one execution, and nothing else ran.
    by_run = Counter(row.input["i"] for row in executions)
    assert {i for i, n in by_run.items() if n > 1} == set(), "a trigger ran twice"
    assert {row.id for row in executions} == set(triggers.ids)
    # Every run ends or visibly waits.
    waiting = [row for row in executions if row.status == "waiting"]
    ended = [row for row in executions if row.status != "waiting"]
    assert {row.status for row in ended} <= {"succeeded"}, Counter(r.status for r in ended)
    if may_wait:
        assert all(row.due_at is not None for row in waiting), "a waiting run has no due time"
    else:
        assert waiting == []
    # Completed steps never repeat: no outside call arrived after its step was committed.
    steps = await _query(
        db,
        "SELECT s.execution_id, s.node_id, s.input, "
        "pg_xact_commit_timestamp(s.xmin) AS committed_at "
        "FROM steps s WHERE s.execution_id = ANY(:ids) AND s.node_type = 'http'",
        triggers.ids,
    )
    calls: dict[str, list[float]] = {}
    for path, moment in list(sink.log):
        calls.setdefault(path, []).append(moment)
    succeeded = sum(1 for row in ended if row.status == "succeeded")
    assert len(steps) >= succeeded * CALLS_PER_RUN
    for step in steps:
        path = "/" + step.input["url"].split("/", 3)[3]
        made = calls.get(path, [])
        assert made, f"{path} was never called"
        committed: datetime = step.committed_at
        late = [moment for moment in made if moment > committed.timestamp() + 0.001]
        assert late == [], f"{path} was called again after its step was committed"
    return Figures(
        runs=len(executions),
        calls=sum(len(made) for made in calls.values()),
        repeated_in_flight_calls=sum(len(made) - 1 for made in calls.values()),
        # A run is claimed once, and again after its delay: more claims mean a fault cut it off.
        reclaimed_runs=sum(1 for row in executions if row.attempt > 2),
        waiting=len(waiting),
    )


async def _query(db: Database, sql: str, ids: list[str] | None = None, **params: Any) -> list:
    if ids is not None:
        params["ids"] = ids
    async with db.reading() as session:
        return list((await session.execute(text(sql), params)).all())


async def run_page(client: httpx.AsyncClient, tenant: Tenant, execution_id: str) -> dict:
    """The execution as the API shows it."""
    got = await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)
    return got.json()
