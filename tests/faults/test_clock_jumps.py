"""The wall clock jumps forward and back (an NTP step, a VM resumed) in the API and the workers
while runs with delays are in flight and a schedule is live. Leases, delays and schedules follow
the jumped clock; nothing runs twice: a jump forward past the leases lets other workers reclaim
runs in flight, and no step already committed is called again; a schedule fires each tick once;
a jump back leaves delayed runs visibly waiting (status waiting, with their due time) until the
clock reaches it.

Every process follows the offset written in one file (weft.clock, WEFT_CLOCK_OFFSET_FILE).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fault_load import Triggers, check_invariants, publish_load, run_page, wait_settled
from sqlalchemy import select

import weft.clock
from engine.flows import publish
from engine.sink import Sink
from graphs import node
from support import Tenant
from weft.clock import OFFSET_FILE_VARIABLE, now, parse_iso
from weft.store.db import Database
from weft.store.tables import Execution
from worker_processes import WorkerForks, unexpected_log_lines

pytestmark = pytest.mark.slow

FORWARD_S = 150.0  # past every lease and delay, and past a minute boundary (a schedule tick)
BACK_S = -3600.0  # an hour back: every delay parked before it now waits an hour more


class JumpingClock:
    """The offset every Weft process adds to its wall clock, rewritten at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.jumps: list[float] = []
        self.set(0.0)

    def set(self, offset_s: float) -> None:
        spare = self.path.with_suffix(".new")
        spare.write_text(str(offset_s))
        spare.replace(self.path)
        self.jumps.append(offset_s)

    async def jump(self, offset_s: float) -> None:
        """Move to `offset_s` (every process reads it at its next look at the clock)."""
        self.set(offset_s)
        await asyncio.sleep(0.3)


async def test_clock_jumps_repeat_nothing_and_leave_runs_ended_or_visibly_waiting(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    db_url: str,
    sink: Sink,
    worker_forks: WorkerForks,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = JumpingClock(tmp_path / "clock-offset")
    monkeypatch.setenv(OFFSET_FILE_VARIABLE, str(clock.path))  # the worker processes
    monkeypatch.setattr(weft.clock, "offset_file", str(clock.path))  # the API here
    workflow_id = await publish_load(client, tenant, sink, call_ms=300, delay_s=1.0)
    schedule_id = await publish(
        client,
        tenant,
        [
            node("1", "start", "Every minute", trigger="schedule", cron="* * * * *"),
            node("2", "transform", "Tick", value="{{ trigger.scheduled_at }}"),
        ],
        name="fault schedule",
    )
    triggers = Triggers(client, tenant, workflow_id)
    for _ in range(2):
        worker_forks.start(db_url, tmp_path)
    stop_feeding = asyncio.Event()
    feeder = asyncio.create_task(triggers.keep_in_flight(db, 20, stop_feeding))
    try:
        await asyncio.sleep(3)
        await clock.jump(FORWARD_S)  # leases and delays expire at once; a tick is due
        await asyncio.sleep(3)
        await clock.jump(BACK_S)  # runs parked so far now wait another hour
        await asyncio.sleep(3)
    finally:
        stop_feeding.set()
        await feeder

    # With the clock an hour back, every run ends or visibly waits, and nothing repeated.
    statuses = await wait_settled(db, triggers.ids, timeout_s=60, waiting_counts=True)
    assert set(statuses) <= {"succeeded", "waiting"}, statuses
    back = await check_invariants(db, triggers, sink, may_wait=True)
    assert back.waiting > 0, "no run was parked across the jump back: the test proved little"
    # Visibly: the API shows each as WAITING with the moment it resumes, ahead of the clock.
    async with db.reading() as session:
        waiting = list(
            await session.scalars(
                select(Execution.id).where(
                    Execution.workflow_id == workflow_id, Execution.status == "waiting"
                )
            )
        )
    shown = [await run_page(client, tenant, execution_id) for execution_id in waiting]
    still = [run for run in shown if run["status"] == "WAITING"]  # one parked since may go on
    assert still, "no run waits visibly through the jump back"
    for run in still:  # one parked after the jump back may just have come due, unclaimed yet
        overdue = now() - parse_iso(run["resumes_at"])
        assert overdue < timedelta(seconds=5), "a waiting run is overdue yet not resumed"

    await clock.jump(2 * FORWARD_S)  # past every wait again, and past the next tick
    statuses = await wait_settled(db, triggers.ids, timeout_s=60)
    figures = await check_invariants(db, triggers, sink)
    ticks = await schedule_runs(db, schedule_id, at_least=2)

    assert statuses == {"succeeded": figures.runs}
    # Each tick fired once: at least one for each jump forward (missed ticks coalesce into one;
    # the clock may pass another minute while the test waits), none again after the jump back.
    assert len(ticks) == len({key for key, _ in ticks}) >= 2, ticks
    assert {status for _, status in ticks} == {"succeeded"}
    assert unexpected_log_lines(tmp_path) == []
    print(
        f"\nclock jumps {clock.jumps}: {back.waiting} runs waited through the jump back, {figures}"
    )


async def schedule_runs(db: Database, workflow_id: str, at_least: int) -> list[tuple[str, str]]:
    """(idempotency key, status) of the schedule's runs, once `at_least` ended (10 s at most),
    and a second more, long enough for an extra fire to show."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    settled_at = None
    while True:
        async with db.reading() as session:
            ticks = [
                (str(key), status)
                for key, status in await session.execute(
                    select(Execution.idempotency_key, Execution.status).where(
                        Execution.workflow_id == workflow_id
                    )
                )
            ]
        if len([t for t in ticks if t[1] == "succeeded"]) >= at_least:
            settled_at = settled_at or loop.time()
            if loop.time() - settled_at >= 1.5:
                return ticks
        if loop.time() > deadline:
            return ticks
        await asyncio.sleep(0.2)
