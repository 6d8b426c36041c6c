"""A workflow that paused itself after failed runs in a row: why, and resuming it.

A private workflow with its linked account's session token; a public one with the org key.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from weft.api.deps import DbDep, WorkflowScopeDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.workflows import pauses

router = Router(tags=["workflows"], responses=ERROR_RESPONSES)


class PauseOut(Out):
    workflow_id: str
    paused: bool
    paused_at: datetime | None = Field(description="When it paused itself; null: it runs")
    failures: int = Field(description="The failed runs in a row that paused it (0: not paused)")
    reason: str | None = Field(description="The last of those failures, as a sentence")
    execution_id: str | None = Field(description="That failed run, to open it")
    streak: int = Field(description="Failed runs in a row now (a success resets it)")

    @classmethod
    def of(cls, state: pauses.PauseState) -> PauseOut:
        return cls(
            workflow_id=state.workflow_id,
            paused=state.paused_at is not None,
            paused_at=state.paused_at,
            failures=state.failures,
            reason=state.reason,
            execution_id=state.execution_id,
            streak=state.streak,
        )


@router.get("/workflow/{workflow_id}/pause", response_model=PauseOut, summary="Pause state")
async def get_pause(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> PauseOut:
    """Whether the workflow paused itself after failed runs in a row, and why."""
    return PauseOut.of(await pauses.get_pause_state(db, scope, workflow_id))


@router.post("/workflow/{workflow_id}/resume", response_model=PauseOut, summary="Resume")
async def resume(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> PauseOut:
    """Lift a pause: triggers, schedules and polls start again; the failure count is 0."""
    return PauseOut.of(await pauses.resume_workflow(db, scope, workflow_id))
