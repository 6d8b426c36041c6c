"""Executions: list, read with per-step details, rerun, cancel, and a live event stream."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from weft.api.deps import (
    DbDep,
    PageDep,
    ScopeDep,
    ServicesDep,
    StreamScopeDep,
    credential_still_valid,
)
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, ErrorOut, Out, PageOut
from weft.api.truncation import capped
from weft.engine.interpreter.safe_mode import SKIPPED, EditorTestOptions
from weft.engine.runs import history, lifecycle, run_summary, run_views, states
from weft.engine.runs.run_views import RunView
from weft.engine.starts import triggers
from weft.errors import WeftError
from weft.nodes import Role, has_role
from weft.store.scope import Scope
from weft.store.tables import Execution, Step

log = logging.getLogger("weft.api.executions")

router = Router(tags=["executions"], responses=ERROR_RESPONSES)

TriggerKind = Literal["api", "webhook", "schedule", "event", "test", "app", "workflow", "rerun"]
StatusFilter = Literal[
    "COMPLETED", "RUNNING", "QUEUED", "WAITING", "FAILED", "ERRORED", "CANCELLED", "All", "ALL"
]


class StepOut(Out):
    node_id: str
    node_name: str
    node_type: str
    node_status: str
    iteration: str
    branch: str | None
    attempts_made: int
    execution_time: float | None = Field(description="Milliseconds")
    input: Any
    latest_output: Any
    error: Any
    started_at: datetime
    finished_at: datetime | None
    pinned: bool = Field(False, description="Test runs: the output was given, not computed")

    @classmethod
    def of(cls, step: Step, pinned: frozenset[str] = frozenset()) -> StepOut:
        """The step; input and output over 64 KiB of JSON come back truncated."""
        return cls(
            node_id=step.node_id,
            node_name=step.node_name,
            node_type=step.node_type,
            node_status=_STEP_STATUS.get(step.status, "FAILED"),
            iteration=step.iteration,
            branch=step.branch,
            attempts_made=step.attempt,
            execution_time=step.duration_ms,
            # The trigger's row stores its payload once, as output (engine start_step).
            input=capped(step.output if has_role(step.node_type, Role.START) else step.input),
            latest_output=capped(step.output),
            error=step.error,
            started_at=step.started_at,
            finished_at=step.finished_at,
            pinned=step.node_id in pinned and step.status == "succeeded",
        )


# One event of the stream (OpenAPI 3.1 describes each event of text/event-stream by `schema`).
_SSE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["step", "status", "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "anyOf": [
                    {"$ref": "#/components/schemas/StepOut"},
                    {"$ref": "#/components/schemas/ExecutionOut"},
                    {
                        "type": "object",
                        "required": ["message"],
                        "properties": {"message": {"type": "string"}, "code": {"type": "string"}},
                    },
                ]
            },
        },
    },
}


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


class WorkflowRef(Out):
    id: str = Field(alias="_id")
    name: str | None


# SKIPPED: held back by safe test mode (its output says what it would have sent).
_STEP_STATUS = {"succeeded": "COMPLETED", "failed": "FAILED", SKIPPED: "SKIPPED"}


def pinned_nodes(execution: Execution) -> frozenset[str]:
    """Nodes whose output a test run was given instead of running them."""
    if not execution.is_test or not execution.test_graph:
        return frozenset()
    return frozenset(EditorTestOptions.from_json(execution.test_graph.get("test_mode")).pinned)


class ExecutionOut(Out):
    id: str = Field(alias="_id")
    name: str | None = Field(description="The workflow's name")
    org_id: str
    workflow_id: str
    associated_workflow: WorkflowRef
    workflow_version: int | None
    status: str
    trigger: str = Field(description="How the run was queued: execute, webhook, test, ...")
    trigger_kind: str = Field(
        description="The kind of start: api, webhook, schedule, event, test, app, workflow "
        "or rerun (the list's `trigger_kind` filter)"
    )
    payload_summary: str = Field(
        description="The payload's first keys and values on one line (at most 120 characters), "
        "credential-like values hidden"
    )
    is_test: bool
    linked_account_id: str
    config_id: str | None = Field(description="A public workflow's run: the config it used")
    environment: str
    payload: Any
    output: Any
    return_value: Any
    response: Any
    error: Any
    attempt: int
    execution_time: float | None = Field(description="Milliseconds from start to finish")
    completion_percentage: int = Field(description="100 once completed; else nodes done / nodes")
    config_id: str | None = Field(None, description="Refold's config id; Weft has none")
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    started_at: datetime | None
    finished_at: datetime | None
    resumes_at: datetime | None = Field(
        None, description="A WAITING run: when it is due to go on (a delay's end); else null"
    )
    nodes: list[StepOut] | None = None

    @classmethod
    def of(
        cls,
        scope: Scope,
        execution: Execution,
        facts: history.RunFacts,
        steps: list[Step] | None = None,
    ) -> ExecutionOut:
        elapsed = None
        if execution.started_at and execution.finished_at:
            elapsed = (execution.finished_at - execution.started_at).total_seconds() * 1000
        response = execution.response
        return cls(
            id=execution.id,
            name=facts.name,
            org_id=execution.org_id,
            workflow_id=execution.workflow_id,
            associated_workflow=WorkflowRef(id=execution.workflow_id, name=facts.name),
            completion_percentage=facts.completion_percentage,
            workflow_version=execution.version,
            status=states.API_STATUS[execution.status],
            trigger=execution.trigger,
            trigger_kind=run_summary.trigger_kind(execution.trigger),
            payload_summary=run_summary.payload_summary(execution.input),
            is_test=execution.is_test,
            linked_account_id=scope.account_id,
            config_id=execution.config_id,
            environment=execution.environment,
            payload=execution.input,
            output=execution.output,
            return_value=response.get("body") if isinstance(response, dict) else None,
            response=response,
            error=execution.error,
            attempt=execution.attempt,
            execution_time=elapsed,
            created_at=execution.created_at,
            updated_at=execution.updated_at,
            started_at=execution.started_at,
            finished_at=execution.finished_at,
            resumes_at=execution.due_at if execution.status == states.WAITING else None,
            nodes=[StepOut.of(s, pinned_nodes(execution)) for s in steps]
            if steps is not None
            else None,
        )

    @classmethod
    def of_view(cls, scope: Scope, view: RunView) -> ExecutionOut:
        """The run as `GET /execution/{id}` answers it (steps when the view holds them)."""
        return cls.of(scope, view.execution, view.facts, view.steps)


@router.get("/execution", response_model=PageOut[ExecutionOut], summary="List executions")
async def list_executions(
    scope: ScopeDep,
    db: DbDep,
    paging: PageDep,
    status: StatusFilter | None = Query(None),
    workflow_id: str | None = Query(None),
    start_date: datetime | None = Query(None, description="ISO 8601; created at or after"),
    end_date: datetime | None = Query(None, description="ISO 8601; created at or before"),
    include_tests: bool = Query(False, description="Also list workflow-test runs"),
    trigger_kind: list[TriggerKind] = Query(
        [], description="Only runs started this way (repeatable); `test` lists test runs too"
    ),
    search: str | None = Query(
        None, max_length=200, description="A run id, or text found in the payload (any case)"
    ),
) -> PageOut[Any]:
    filters = history.RunFilter(
        status, workflow_id, start_date, end_date, include_tests, tuple(trigger_kind), search
    )
    found = await run_views.list_runs(db, scope, filters, page=paging.page, limit=paging.limit)
    docs = [ExecutionOut.of(scope, e, found.facts[e.id]) for e in found.page.items]
    return PageOut.of(found.page, docs)


@router.get("/execution/{execution_id}", response_model=ExecutionOut, summary="One execution")
async def get_execution(execution_id: str, scope: ScopeDep, db: DbDep) -> ExecutionOut:
    return ExecutionOut.of_view(scope, await run_views.read_run(db, scope, execution_id))


class RerunOut(Out):
    """Refold's rerun answer; `execution_id` and `_id` name the new run too."""

    status: Literal["success"] = "success"
    id: str
    execution_id: str
    underscore_id: str = Field(alias="_id")


@router.post("/execution/{execution_id}/rerun", response_model=RerunOut, summary="Rerun")
async def rerun(execution_id: str, scope: ScopeDep, services: ServicesDep) -> RerunOut:
    execution = await lifecycle.queue_runs(
        services,
        lambda session: triggers.rerun_execution(scope, execution_id, session=session),
    )
    return RerunOut(id=execution.id, execution_id=execution.id, underscore_id=execution.id)


@router.post(
    "/execution/{execution_id}/cancel",
    response_model=ExecutionOut,
    summary="Cancel",
    responses={409: {"model": ErrorOut, "description": "The execution already finished"}},
)
async def cancel(execution_id: str, scope: ScopeDep, services: ServicesDep) -> ExecutionOut:
    cancelled = await run_views.cancel_run(services, scope, execution_id)
    return ExecutionOut.of_view(scope, cancelled)


@router.get(
    "/execution/{execution_id}/events",
    summary="Server-Sent Events: each step as it commits, then the final status",
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": "`event: step` with a step as `data` (JSON) per committed step, "
            "then one `event: status` with the finished execution",
            "content": {"text/event-stream": {"schema": _SSE_EVENT}},
        }
    },
)
async def stream_events(
    execution_id: str,
    scope: StreamScopeDep,
    db: DbDep,
    services: ServicesDep,
    request: Request,
) -> Any:
    """Events `step` (one per step as it commits), then `status` (the finished execution).

    Browsers' EventSource cannot send headers: pass the session token as `?token=` instead.
    """
    await run_views.check_run(db, scope, execution_id)
    wakeups = services.wakeups

    async def events() -> AsyncIterator[bytes]:
        # Once the stream has begun its status is sent: whatever stops it later (the run deleted
        # with its linked account, the database gone) ends it with an `error` event instead.
        try:
            async for event in run_events():
                yield event
        except WeftError as error:
            yield _sse("error", {"message": error.message, "code": error.error_code})
        except Exception:
            log.exception("event stream of %s stopped", execution_id)
            yield _sse("error", {"message": "The stream stopped (internal error)"})

    async def run_events() -> AsyncIterator[bytes]:
        last_step: str | None = None
        checked_at = time.monotonic()
        while True:
            if time.monotonic() - checked_at >= CREDENTIAL_RECHECK_S:
                if not await credential_still_valid(request, db):
                    yield _sse("error", {"message": "The credential was revoked or expired"})
                    return
                checked_at = time.monotonic()
            execution, steps = await run_views.run_and_steps_after(
                db, scope, execution_id, last_step
            )
            pinned = pinned_nodes(execution)
            for step in steps:
                last_step = step.id
                yield _sse("step", StepOut.of(step, pinned).model_dump(mode="json"))
            if execution.status in states.TERMINAL:
                final = ExecutionOut.of_view(
                    scope, await run_views.describe_run(db, scope, execution)
                )
                yield _sse("status", final.model_dump(mode="json"))
                return
            if await request.is_disconnected():
                return
            await wakeups.wait_for_change(execution_id, 0.25)

    return EventStreamResponse(
        events(), headers={"cache-control": "no-cache", "x-accel-buffering": "no"}
    )


# A revoked token or rotated key ends the streams it opened within this many seconds.
CREDENTIAL_RECHECK_S = 2.0


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
