""" "What changes if I publish": replay live runs through the draft and read what changed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from weft.api.deps import ScopeDep, ServicesDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, ErrorOut
from weft.api.truncation import capped
from weft.engine.runs.output_diff import MAX_ROWS
from weft.engine.runs.replay_report import replay_report
from weft.engine.starts.replays import MAX_RUNS, start_replay

router = Router(tags=["runs"], responses=ERROR_RESPONSES)

# A report is read every second while the editor shows it, for up to 100 runs: each value in
# it is capped much lower than a step's data elsewhere (the editor shows a line of each).
VALUE_CAP_BYTES = 4 * 1024


class ReplayIn(BaseModel):
    # Bounds are checked by the engine too, so an out-of-range count gets a plain sentence.
    count: int = Field(
        20,
        description=f"How many of the last ended live runs, 1 to {MAX_RUNS}",
        json_schema_extra={"minimum": 1, "maximum": MAX_RUNS},
    )


class FieldChangeOut(BaseModel):
    path: str = Field(description="`status`, or a JSON path under `$.output` / `$.error`")
    kind: str = Field(description="changed (old → new), added (new only) or removed (old only)")
    old: Any = None
    new: Any = None


class StepChangeOut(BaseModel):
    node_id: str
    node_name: str
    iteration: str = Field(description="The loop path ('' outside loops)")
    change: str = Field(
        description="same; changed; removed (only the live run has it); added (only the draft)"
    )
    old_status: str | None
    new_status: str | None
    held_back: bool = Field(description="Safe mode held this write back in the draft's run")
    diff: list[FieldChangeOut] = Field(description=f"At most {MAX_ROWS} rows")
    total: int = Field(description="How many fields differ in all")


class ReplayRunOut(BaseModel):
    live_execution_id: str | None
    test_execution_id: str | None
    version: int | None = Field(description="The live version that ran")
    live_status: str | None
    test_status: str | None
    started_at: datetime | None
    trigger: Any = Field(description="The trigger output both runs started from")
    status: str = Field(
        description="pending, same, changed, no_outputs (the live run kept no steps) or "
        "unavailable (a run is no longer stored)"
    )
    message: str | None = Field(description="Why a run was not compared, or how it was")
    changed: int
    unchanged: int
    steps: list[StepChangeOut]


class ReplayOut(BaseModel):
    id: str
    workflow_id: str
    requested: int
    created_at: datetime
    status: str = Field(description="running while a test run is pending, then done")
    total: int = Field(description="Live runs replayed (fewer than requested if fewer ended)")
    pending: int
    with_changes: int
    runs: list[ReplayRunOut] = Field(description="Newest live run first")


@router.post(
    "/workflow/{workflow_id}/draft/replay",
    response_model=ReplayOut,
    status_code=202,
    summary="What changes if I publish: replay the last live runs through the draft",
    responses={
        422: {"model": ErrorOut, "description": "The draft cannot run, or count is out of range"},
        429: {"model": ErrorOut, "description": "A quota refused the test runs"},
    },
)
async def replay_draft(
    workflow_id: str,
    scope: ScopeDep,
    services: ServicesDep,
    body: Annotated[ReplayIn | None, Body()] = None,
) -> Any:
    """Queue one safe test run of the draft per ended live run (newest `count`), each with
    that run's trigger output and config; write steps answer what they answered live. Read
    the comparison with GET `/workflow/{workflow_id}/draft/replay/{replay_id}` until `done`."""
    count = (body or ReplayIn()).count
    replay_id = await start_replay(services, scope, workflow_id, count)
    report = await replay_report(services.db, scope, workflow_id, replay_id)
    return JSONResponse(_out(report).model_dump(mode="json"), status_code=202)


@router.get(
    "/workflow/{workflow_id}/draft/replay/{replay_id}",
    response_model=ReplayOut,
    summary="A draft replay's comparison: per live run, the steps whose outputs differ",
)
async def read_replay(
    workflow_id: str, replay_id: str, scope: ScopeDep, services: ServicesDep
) -> ReplayOut:
    """Finished runs compared step by step (field-level old → new); the others `pending`."""
    return _out(await replay_report(services.db, scope, workflow_id, replay_id))


def _out(report: dict[str, Any]) -> ReplayOut:
    """The report with every trigger and field value capped (`{truncated, size, preview}`)."""
    for run in report["runs"]:
        run["trigger"] = capped(run["trigger"], VALUE_CAP_BYTES)
        for step in run["steps"]:
            for row in step["diff"]:
                row["old"] = capped(row["old"], VALUE_CAP_BYTES)
                row["new"] = capped(row["new"], VALUE_CAP_BYTES)
    return ReplayOut(**report)
