"""A draft replay's report: per live run, which steps' outputs its draft test run changed.

Steps are matched by node id and loop iteration. A step only the live run has is `removed`
(the draft no longer has it, or no longer reaches it); one only the test run has is `added`.
Live runs whose steps were not kept, or that retention removed since, are reported as such
with a sentence, never compared against nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.engine.runs import states
from weft.engine.runs.output_diff import MAX_ROWS, FieldChange, field_changes
from weft.errors import NotFound
from weft.store.db import Database
from weft.store.scope import Scope, scoped_select
from weft.store.tables import DraftReplay, Execution, Step, WorkflowVersion
from weft.workflows.records import locate_workflow

HELD_BACK = "skipped"  # a test step safe mode held back (engine.interpreter.safe_mode.SKIPPED)


@dataclass(frozen=True)
class _Run:
    row: Execution
    steps: dict[tuple[str, str], Step]


async def replay_report(
    db: Database, scope: Scope, workflow_id: str, replay_id: str
) -> dict[str, Any]:
    """The replay as it stands: finished runs compared, the others `pending` (404 if the caller
    has no such replay of this workflow)."""
    async with db.reading() as session:
        workflow = (await locate_workflow(scope, workflow_id, session=session)).workflow
        replay = await session.scalar(
            scoped_select(DraftReplay, scope).where(
                DraftReplay.id == replay_id, DraftReplay.workflow_id == workflow.id
            )
        )
        if replay is None:
            raise NotFound(f"Replay {replay_id} not found", error_code="REPLAY_NOT_FOUND")
        pairs = [(pair["live"], pair["test"]) for pair in replay.runs]
        runs = await _runs([run_id for pair in pairs for run_id in pair], scope, session=session)
        versions = await _versions_kept(replay.workflow_id, runs.values(), session=session)
    # Up to 100 pairs of runs compared field by field: in a thread, so the event loop goes on
    # serving between the interpreter's switches rather than waiting for the whole comparison.
    reports = await asyncio.to_thread(
        lambda: [_report(runs.get(live), runs.get(test), versions) for live, test in pairs]
    )
    pending = sum(report["status"] == "pending" for report in reports)
    return {
        "id": replay.id,
        "workflow_id": replay.workflow_id,
        "requested": replay.requested,
        "created_at": replay.created_at,
        "status": "running" if pending else "done",
        "total": len(reports),
        "pending": pending,
        "with_changes": sum(report["status"] == "changed" for report in reports),
        "runs": reports,
    }


async def _runs(ids: list[str], scope: Scope, *, session: AsyncSession) -> dict[str, _Run]:
    rows = list(await session.scalars(scoped_select(Execution, scope).where(Execution.id.in_(ids))))
    steps: dict[str, dict[tuple[str, str], Step]] = {row.id: {} for row in rows}
    if rows:
        for step in await session.scalars(
            select(Step).where(Step.execution_id.in_(list(steps))).order_by(Step.id)
        ):
            steps[step.execution_id][(step.node_id, step.iteration)] = step
    return {row.id: _Run(row, steps[row.id]) for row in rows}


async def _versions_kept(workflow_id: str, runs: Any, *, session: AsyncSession) -> set[int]:
    wanted = {run.row.version for run in runs if run.row.version is not None}
    if not wanted:
        return set()
    found = await session.scalars(
        select(WorkflowVersion.version).where(
            WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version.in_(wanted)
        )
    )
    return {version for version in found if version is not None}


def _report(live: _Run | None, test: _Run | None, versions: set[int]) -> dict[str, Any]:
    report: dict[str, Any] = {
        "live_execution_id": live.row.id if live else None,
        "test_execution_id": test.row.id if test else None,
        "version": live.row.version if live else None,
        "live_status": live.row.status if live else None,
        "test_status": test.row.status if test else None,
        "started_at": live.row.created_at if live else None,
        "trigger": live.row.input if live else None,
        "message": None,
        "changed": 0,
        "unchanged": 0,
        "steps": [],
    }
    if live is None or test is None:
        gone = "live run" if live is None else "replay's test run"
        return {**report, "status": "unavailable", "message": f"The {gone} is no longer stored"}
    if test.row.status not in states.TERMINAL:
        return {**report, "status": "pending"}
    if not live.steps:
        message = "The live run kept no step outputs, so there is nothing to compare"
        return {**report, "status": "no_outputs", "message": message}
    if live.row.version is not None and live.row.version not in versions:
        report["message"] = (
            f"Version {live.row.version} is no longer stored; steps are matched by their ids"
        )
    steps = _compare_steps(live.steps, test.steps)
    changed = sum(step["change"] != "same" for step in steps)
    return {
        **report,
        "status": "changed" if changed else "same",
        "changed": changed,
        "unchanged": len(steps) - changed,
        "steps": steps,
    }


def _compare_steps(
    live: dict[tuple[str, str], Step], test: dict[tuple[str, str], Step]
) -> list[dict[str, Any]]:
    keys = list(live) + [key for key in test if key not in live]
    return [_compare_step(live.get(key), test.get(key)) for key in keys]


def _compare_step(old: Step | None, new: Step | None) -> dict[str, Any]:
    either = old or new
    assert either is not None  # every key came from one side
    row: dict[str, Any] = {
        "node_id": either.node_id,
        "node_name": (new or either).node_name,
        "iteration": either.iteration,
        "old_status": old.status if old else None,
        "new_status": new.status if new else None,
        "held_back": new is not None and new.status == HELD_BACK,
    }
    if old is None or new is None:
        return {**row, "change": "added" if old is None else "removed", "diff": [], "total": 0}
    changes = field_changes(
        {"output": old.output, "error": old.error}, {"output": new.output, "error": new.error}
    )
    if old.status != new.status:
        changes.insert(0, FieldChange("status", "changed", old=old.status, new=new.status))
    diff = [change.to_json() for change in changes[:MAX_ROWS]]
    return {**row, "change": "changed" if changes else "same", "diff": diff, "total": len(changes)}
