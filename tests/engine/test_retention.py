"""Retention keeps up: a backlog is pruned round after round (not five minutes apart), runs still
going or inside the window stay, and two pruners at once remove each run once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from in_process import InProcessRuns
from support import wait_until
from weft import clock
from weft.engine.runs import states
from weft.engine.runs.retention import (
    PRUNE_EVERY_S,
    Pruned,
    Retention,
    prune_finished_executions,
)
from weft.ids import new_id
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import Execution, Step

pytestmark = pytest.mark.integration

KEEP_DAYS = 30.0
STEPS = 3  # step rows per run


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """The clock held still: nothing else ages into the window while a test prunes."""
    moment = clock.now()
    clock.freeze(moment)
    yield moment
    clock.freeze(None)


@pytest.fixture
async def runs(db: Database, settings: Settings) -> InProcessRuns:
    """An org, linked account and workflow for the runs; older runs left by other tests in the
    shared database pruned first, so what a test prunes is its own."""
    seeded = InProcessRuns(db, settings, "retention-test")
    await seeded.seed()
    while (await prune_finished_executions(db, keep_days=KEEP_DAYS)).backlog:
        pass
    return seeded


async def add_runs(
    runs: InProcessRuns,
    count: int,
    *,
    status: str = states.SUCCEEDED,
    finished_at: datetime | None,
) -> list[str]:
    """`count` runs of the workflow with STEPS steps each, written as a worker leaves them."""
    ids = [new_id() for _ in range(count)]
    moment = finished_at or clock.now()
    async with runs.db.transaction() as session:
        session.add_all(
            Execution(
                id=execution_id,
                org_id=runs.org_id,
                environment="test",
                linked_account_pk=runs.account_pk,
                workflow_id=runs.workflow_id,
                version=1,
                trigger="manual",
                status=status,
                created_at=moment,
                started_at=moment,
                finished_at=finished_at,
                updated_at=moment,
            )
            for execution_id in ids
        )
        await session.flush()
        session.add_all(
            Step(
                id=new_id(),
                execution_id=execution_id,
                node_id=str(number),
                node_type="transform",
                node_name=f"Step {number}",
                status="succeeded",
                started_at=moment,
                finished_at=finished_at,
            )
            for execution_id in ids
            for number in range(STEPS)
        )
    return ids


async def still_there(db: Database, ids: list[str]) -> tuple[int, int]:
    """How many of these runs, and of their steps, are left."""
    async with db.reading() as session:
        runs = await session.scalar(
            select(func.count()).select_from(Execution).where(Execution.id.in_(ids))
        )
        steps = await session.scalar(
            select(func.count()).select_from(Step).where(Step.execution_id.in_(ids))
        )
    return int(runs or 0), int(steps or 0)


async def test_a_backlog_is_pruned_round_after_round_and_live_or_recent_runs_stay(
    runs: InProcessRuns, frozen: datetime
) -> None:
    old = await add_runs(runs, 100, finished_at=frozen - timedelta(days=KEEP_DAYS + 1))
    kept = [
        *await add_runs(runs, 3, finished_at=frozen - timedelta(days=KEEP_DAYS - 1)),
        *await add_runs(runs, 3, status=states.RUNNING, finished_at=None),
        *await add_runs(runs, 3, status=states.WAITING, finished_at=None),
        # An end time alone does not make a run prunable: its status must be final too.
        *await add_runs(
            runs, 3, status=states.QUEUED, finished_at=frozen - timedelta(days=KEEP_DAYS + 1)
        ),
    ]
    pruner = Retention(runs.services)
    pruner.batch, pruner.max_batches = 20, 2  # 40 runs a round: the backlog takes three

    await pruner.round()  # the first round stops at its cap, and asks for the next one soon
    assert await still_there(runs.db, old) == (60, 60 * STEPS)
    assert pruner.interval_s < PRUNE_EVERY_S

    # The rounds as the engine runs them: the backlog goes without a five-minute wait.
    task = asyncio.create_task(pruner.run())
    try:
        await wait_until(lambda: _none_left(runs.db, old), timeout_s=60, what="the backlog pruned")
        await wait_until(lambda: pruner.interval_s == PRUNE_EVERY_S, what="the idle cadence")
    finally:
        pruner.stop()
        await task
    assert await still_there(runs.db, kept) == (len(kept), len(kept) * STEPS)


async def _none_left(db: Database, ids: list[str]) -> bool:
    return await still_there(db, ids) == (0, 0)


async def test_two_pruners_at_once_remove_each_run_once(
    runs: InProcessRuns, db_url: str, frozen: datetime
) -> None:
    old = await add_runs(runs, 300, finished_at=frozen - timedelta(days=KEEP_DAYS + 1))
    other = Database(db_url)  # another process's handle: its own connections and writer turn
    try:
        done = await asyncio.gather(
            *(
                prune_finished_executions(handle, keep_days=KEEP_DAYS, batch=20, max_batches=50)
                for handle in (runs.db, other)
            )
        )
    finally:
        await other.dispose()
    assert sum(pruned.runs for pruned in done) == len(old)
    assert sum(pruned.steps for pruned in done) == len(old) * STEPS
    assert not any(pruned.backlog for pruned in done)
    assert await still_there(runs.db, old) == (0, 0)
    assert await prune_finished_executions(runs.db, keep_days=KEEP_DAYS) == Pruned()
