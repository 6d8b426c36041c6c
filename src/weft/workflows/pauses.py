"""A workflow that paused itself after too many failed runs in a row: why, and resuming it.

The pause is set by the engine in the transaction that ends the failing run
(engine.runs.failure_streaks); here the API reads it and a person (or the org) lifts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import isoformat, now
from weft.errors import Conflict
from weft.store.db import Database
from weft.store.scope import Scope
from weft.store.tables import Workflow, WorkflowFailures
from weft.workflows import records
from weft.workflows.live_cache import LIVE_STARTS


@dataclass(frozen=True)
class PauseState:
    """Whether a workflow is paused, why, and its current run of failures."""

    workflow_id: str
    paused_at: datetime | None
    failures: int  # the failed runs in a row that paused it (0 when not paused)
    reason: str | None  # the last of them, as a sentence
    execution_id: str | None  # the run that failed last before the pause
    streak: int  # failed runs in a row now


def refuse_if_paused(workflow: Workflow) -> None:
    """409 `WORKFLOW_PAUSED` for a paused workflow's trigger, saying how to resume it."""
    if workflow.paused_at is not None:
        raise Conflict(
            f"Workflow {workflow.id} paused itself after too many failed runs in a row; "
            f"fix the cause, then resume it: POST /api/v2/public/workflow/{workflow.id}/resume "
            "(or Resume in the editor)",
            error_code="WORKFLOW_PAUSED",
            details={"workflow_id": workflow.id, "paused_at": isoformat(workflow.paused_at)},
        )


async def pause_state_of(workflow: Workflow, *, session: AsyncSession) -> PauseState:
    """The workflow's pause and failure streak as stored."""
    failures = await session.get(WorkflowFailures, workflow.id)
    paused = workflow.paused_at is not None and failures is not None
    return PauseState(
        workflow_id=workflow.id,
        paused_at=workflow.paused_at,
        failures=(failures.paused_streak or 0) if paused and failures else 0,
        reason=failures.paused_error if paused and failures else None,
        execution_id=failures.paused_execution_id if paused and failures else None,
        streak=failures.streak if failures else 0,
    )


async def get_pause_state(db: Database, scope: Scope, workflow_id: str) -> PauseState:
    """Whether the caller's workflow is paused, and why."""
    async with db.reading() as session:
        workflow = (await records.locate_workflow(scope, workflow_id, session=session)).workflow
        return await pause_state_of(workflow, session=session)


async def resume_workflow(db: Database, scope: Scope, workflow_id: str) -> PauseState:
    """Lift the pause: triggers, schedules and polls start again, and the streak starts from 0
    (else the next failure would pause it at once). Resuming a running workflow changes
    nothing."""
    async with db.transaction() as session:
        workflow = (await records.locate_workflow(scope, workflow_id, session=session)).workflow
        moment = now()
        # The failures row first, as the engine locks them (failures, then the workflow).
        await session.execute(
            update(WorkflowFailures)
            .where(WorkflowFailures.workflow_id == workflow.id)
            .values(
                streak=0,
                paused_streak=None,
                paused_execution_id=None,
                paused_error=None,
                updated_at=moment,
            )
        )
        if workflow.paused_at is not None:
            workflow.paused_at = None
            workflow.updated_at = moment
            await session.flush()
            LIVE_STARTS.forget_all()
        return await pause_state_of(workflow, session=session)
