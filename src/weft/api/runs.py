"""Starting runs: execute a live workflow, test a draft, fire an event, read the trigger shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Body, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from weft.api.deps import DbDep, ScopeDep, ServicesDep, config_id_of
from weft.api.executions import ExecutionOut
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, ErrorOut
from weft.apps.gateway import AppGateway
from weft.engine.interpreter.safe_mode import EditorTestOptions
from weft.engine.interpreter.single_node import run_single_node
from weft.engine.runs import lifecycle, states
from weft.engine.starts import triggers
from weft.engine.starts.direct import StartedRun
from weft.engine.starts.trigger_output import sample_output
from weft.engine.workers import waiting
from weft.engine.workers.answers import RunAnswer
from weft.errors import WeftError
from weft.store.json_codec import dump_json
from weft.workflows import service
from weft.workflows.request_schema import json_schema_of
from weft.workflows.trigger_index import start_config

router = Router(tags=["runs"], responses=ERROR_RESPONSES)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=triggers.MAX_KEY_LENGTH,
        description="Same key within 24 h: same run",
    ),
]
ConfigId = Annotated[
    str | None,
    Header(
        alias="config_id",
        convert_underscores=False,
        max_length=200,
        description="Public workflows: the linked account's config to run with",
    ),
]
AppSlug = Annotated[
    str | None,
    Header(max_length=100, description="Events: only this app's configs run public workflows"),
]


class ExecuteIn(BaseModel):
    payload: Any = Field(None, description="Stands in for the trigger's output")
    sync_execution: bool | None = Field(
        None, description="Wait for the respond node (as the `sync_execution` header does)"
    )


class StartedOut(BaseModel):
    message: str
    execution_id: str


class EventIn(BaseModel):
    event: str = Field(min_length=1, max_length=200, description="The event's name")
    payload: Any = None

    @model_validator(mode="before")
    @classmethod
    def _trigger_alias(cls, value: Any) -> Any:
        # Refold's docs name the field `trigger` as well as `event`.
        if isinstance(value, dict) and "event" not in value and "trigger" in value:
            return {**{k: v for k, v in value.items() if k != "trigger"}, "event": value["trigger"]}
        return value


class EventStartedOut(BaseModel):
    message: str
    execution_ids: list[str]


# The editor's runs read `config` as a live run would: what the caller gives, else `{}`.
CONFIG_DOC = "What expressions read as `config` (a public workflow's config values); default {}"


class TestIn(BaseModel):
    payload: Any = Field(None, description="Default: the start node's sample_payload")
    pinned: dict[str, Any] = Field(
        default_factory=dict,
        max_length=500,
        description="Node id → output: these steps do not run and answer this output instead",
    )
    run_for_real: Annotated[list[str], Field(max_length=500)] | Literal["all"] = Field(
        default_factory=list,
        description="Write steps (http POST/PUT/PATCH/DELETE, app actions, sub-workflows) that "
        "run for real, each by id or by name (`Create customer` or `create_customer`); later "
        "steps see their real answers. The others are held back and show the request they "
        'would send. `"all"`: every write runs for real (as `safe_mode: false`). A name or id '
        "that is no step of the draft answers 400 NODE_NOT_FOUND listing it",
    )
    safe_mode: bool = Field(True, description="false: every write step runs for real")
    config: dict[str, Any] | None = Field(None, description=CONFIG_DOC)
    wait: bool = Field(
        True, description="false: answer 202 {execution_id} at once; follow its events"
    )

    def options(self) -> EditorTestOptions:
        """The run's test options."""
        if self.run_for_real == "all":
            return EditorTestOptions(safe=False, pinned=self.pinned)
        return EditorTestOptions(
            safe=self.safe_mode, pinned=self.pinned, run_for_real=frozenset(self.run_for_real)
        )


class RequestStructureOut(BaseModel):
    """What a caller sends (`payload`, its schema) and what the start node makes of it."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    payload: Any = Field(description="The start node's sample_payload: the body a caller sends")
    schema_: Any = Field(alias="schema", description="JSON Schema of the payload")
    schema_interpreted: Any = Field(description="The payload's fields as {path, type} rows")
    trigger: str = Field(description="manual, event, webhook or schedule")
    trigger_output: Any = Field(
        description="What `trigger` holds in expressions for this payload: the payload itself "
        "(manual, event), {body, query, headers, method} (webhook), {scheduled_at} (schedule)"
    )
    trigger_output_schema: Any = Field(description="JSON Schema of trigger_output")


class WorkflowFailed(WeftError):
    status_code = 422
    error_code = "WORKFLOW_FAILED"


SyncHeader = Annotated[
    str | None,
    Header(
        alias="sync_execution",
        convert_underscores=False,
        description="`true`: wait for the respond node and answer its body "
        "(also accepted as `sync-execution`, or `sync_execution` in the JSON body)",
    ),
]


def _wants_sync(request: Request, body_flag: bool | None) -> bool:
    if body_flag is not None:
        return body_flag
    value = request.headers.get("sync_execution") or request.headers.get("sync-execution") or ""
    return value.strip().lower() in ("true", "1", "yes")


@router.post(
    "/workflow/{workflow_id}/execute",
    response_model=None,
    summary="Run the live version",
    responses={
        200: {
            "description": "Async: the run started. Sync (`sync_execution`): the respond "
            "node's body, whatever JSON the workflow answers, with header x-execution-id",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/StartedOut"},
                            {"description": "The respond node's body (any JSON)"},
                        ]
                    }
                }
            },
            "headers": {"x-execution-id": {"schema": {"type": "string"}}},
        },
        202: {"model": StartedOut, "description": "sync_execution: not done within the bound"},
        409: {"model": ErrorOut, "description": "Idempotency-Key reused with another body"},
        422: {"model": ErrorOut, "description": "sync_execution: the run failed"},
    },
)
async def execute(
    workflow_id: str,
    scope: ScopeDep,
    services: ServicesDep,
    request: Request,
    body: Annotated[ExecuteIn | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
    sync_execution: SyncHeader = None,
    config_id: ConfigId = None,
) -> Any:
    """Queue a run; with `sync_execution: true` (header or body), wait for its respond node.

    The id may name one of the org's public workflows: the run then uses the linked account's
    config (header `config_id`, default the app's default config), which must enable it.
    """
    body = body or ExecuteIn()
    config = config_id_of(request, config_id)
    if idempotency_key is None:  # no earlier request to look for: may start right here
        run = await triggers.start_execute(
            services, scope, workflow_id, body.payload, config_id=config
        )
    else:
        queued = (
            await lifecycle.queue_runs(
                services,
                lambda session: triggers.execute_workflow(
                    scope,
                    workflow_id,
                    body.payload,
                    key=idempotency_key,
                    window_s=services.settings.idempotency_window_s,
                    session=session,
                    config_id=config,
                ),
            )
        ).id
        run = StartedRun.written(queued)
    if not _wants_sync(request, body.sync_execution):
        execution_id = await run.durable_id()
        return StartedOut(message="Workflow execution started", execution_id=execution_id)
    done = await waiting.wait_for_answer(services, scope, run, until_response=True)

    def accepted() -> Response:
        started = StartedOut(message="Workflow execution started", execution_id=done.id)
        return JSONResponse(started.model_dump(), status_code=202)

    return sync_response(done, done.id, accepted=accepted, respond_as_sent=False)


# Answers HTTP forbids a body: one sent anyway would be read as the start of the next answer.
_NO_BODY = frozenset({204, 304})


class StoredJSONResponse(JSONResponse):
    """A run's value as its row stores it (store.json_codec), at orjson's speed: NaN and the
    infinities an outside API sent are null, where Starlette's json.dumps refused them (a 500)."""

    def render(self, content: Any) -> bytes:
        return dump_json(content).encode()


def sync_response(
    done: RunAnswer,
    execution_id: str,
    *,
    accepted: Callable[[], Response],
    respond_as_sent: bool,
) -> Response:
    """What a synchronous caller (execute or webhook) gets once it stopped waiting: the respond
    node's body (with its status and headers when `respond_as_sent`), else the run's output, a
    failure in the envelope, or `accepted()` (202) while the run goes on."""
    headers = {"x-execution-id": execution_id}
    if done.response:
        status = done.response.get("status", 200) if respond_as_sent else 200
        if respond_as_sent:
            sent = done.response.get("headers") or {}
            headers = {**{str(k): str(v) for k, v in sent.items()}, **headers}
        if status in _NO_BODY:
            answer: Response = Response(status_code=status, headers=headers)
        else:
            body = done.response.get("body")
            answer = StoredJSONResponse(body, status_code=status, headers=headers)
        if respond_as_sent:
            # Served from Weft's own origin, where the editor runs: whatever content type the
            # workflow gives its answer (text/html too), a browser must not run it there. A
            # policy of the workflow's own still applies beside this one.
            answer.headers["x-content-type-options"] = "nosniff"
            answer.headers.append("content-security-policy", "sandbox")
        return answer
    if done.status == states.SUCCEEDED:
        return StoredJSONResponse(done.output, headers=headers)
    if done.status in states.TERMINAL:
        message = (done.error or {}).get("message", "The workflow did not complete")
        raise WorkflowFailed(message, details={"execution_id": execution_id})
    answer = accepted()
    answer.headers.update(headers)
    return answer


_EVENT_CONFLICT = {409: {"model": ErrorOut, "description": "Idempotency-Key reused"}}


@router.post(
    "/event/trigger",
    response_model=EventStartedOut,
    summary="Fire an event",
    responses=_EVENT_CONFLICT,
)
@router.post(
    "/event",
    response_model=EventStartedOut,
    summary="Fire an event (Refold's older path)",
    operation_id="trigger_event_legacy",
    responses=_EVENT_CONFLICT,
)
async def trigger_event(
    body: EventIn,
    scope: ScopeDep,
    services: ServicesDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    config_id: ConfigId = None,
    slug: AppSlug = None,
) -> EventStartedOut:
    """Start every live workflow of this linked account listening to `event`.

    Public workflows run too, once per config of the account that enables them (only the
    configs of app `slug`, or the one config `config_id`, when those headers are sent).
    """
    config = config_id_of(request, config_id)
    if idempotency_key is None:  # no earlier request to look for: may start right here
        started = await triggers.start_event(
            services, scope, body.event, body.payload, slug=slug, config_id=config
        )
        ids = [await run.durable_id() for run in started]
    else:
        queued = await lifecycle.queue_runs(
            services,
            lambda session: triggers.trigger_event(
                scope,
                body.event,
                body.payload,
                key=idempotency_key,
                window_s=services.settings.idempotency_window_s,
                session=session,
                slug=slug,
                config_id=config,
            ),
        )
        ids = [run.id for run in queued]
    return EventStartedOut(message="Webhook Fired Success", execution_ids=ids)


@router.post(
    "/workflow/{workflow_id}/test",
    response_model=ExecutionOut,
    summary="Run the draft with a sample payload; every step's input and output",
    responses={
        202: {"model": StartedOut, "description": "wait: false; follow /execution/{id}/events"},
        400: {
            "model": ErrorOut,
            "description": "NODE_NOT_FOUND: `pinned` or `run_for_real` names no step of the "
            "draft (`details.unknown` lists them); PIN_NOT_ALLOWED",
        },
        422: {"model": ErrorOut, "description": "The draft's graph is invalid"},
    },
)
async def test_workflow(
    workflow_id: str,
    scope: ScopeDep,
    services: ServicesDep,
    body: Annotated[TestIn | None, Body()] = None,
) -> Any:
    """Safe mode: write steps not in `run_for_real` are SKIPPED with the request they'd send."""
    body = body or TestIn()
    execution = await lifecycle.queue_runs(
        services,
        lambda session: triggers.start_test(
            scope,
            workflow_id,
            body.payload,
            options=body.options(),
            config=body.config,
            session=session,
        ),
    )
    if not body.wait:
        started = StartedOut(message="Workflow test started", execution_id=execution.id)
        return JSONResponse(started.model_dump(), status_code=202)
    done = await waiting.wait_for_run(services, scope, execution.id, until_response=False)
    return ExecutionOut.of_view(scope, done)


@router.get(
    "/workflow/request-structure/{workflow_id}",
    response_model=RequestStructureOut,
    summary="The start trigger's sample payload and its schema",
)
async def request_structure(workflow_id: str, scope: ScopeDep, db: DbDep) -> RequestStructureOut:
    data = start_config(await service.trigger_nodes(db, scope, workflow_id))
    sample = data.get("sample_payload")
    trigger = data.get("trigger", "manual")
    output = sample_output(trigger, sample)
    return RequestStructureOut(
        payload=sample,
        schema_=json_schema_of(sample),
        schema_interpreted=_interpreted(sample),
        trigger=trigger,
        trigger_output=output,
        trigger_output_schema=json_schema_of(output),
    )


def _interpreted(value: Any, prefix: str = "") -> list[dict[str, str]]:
    """The sample flattened to `{path, type}` rows, as editors show fields to map."""
    rows: list[dict[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            rows.append({"path": path, "type": json_schema_of(item).get("type", "any")})
            rows += _interpreted(item, path)
    return rows


class RunNodeIn(BaseModel):
    trigger: Any = Field(None, description="What the start node would output")
    nodes: dict[str, Any] = Field(default_factory=dict, description="Earlier outputs by name")
    loop: dict[str, Any] | None = Field(None, description="{item, index} inside a loop body")
    config: dict[str, Any] | None = Field(None, description=CONFIG_DOC)
    run_for_real: bool = Field(
        False, description="A write node answers the request it would send unless this is true"
    )


class RunNodeOut(BaseModel):
    node_id: str
    node_type: str
    status: str
    branch: str | None
    output: Any
    error: Any
    execution_time: float = Field(description="Milliseconds")


@router.post(
    "/workflow/{workflow_id}/nodes/{node_id}/run",
    response_model=RunNodeOut,
    summary="Run one node of the draft alone with given inputs (nothing is stored)",
)
async def run_node(
    workflow_id: str,
    node_id: str,
    scope: ScopeDep,
    db: DbDep,
    services: ServicesDep,
    body: Annotated[RunNodeIn | None, Body()] = None,
) -> RunNodeOut:
    body = body or RunNodeIn()
    _, draft = await service.open_draft(db, scope, workflow_id)
    apps = AppGateway(
        services, scope.org_id, scope.environment, scope.linked_account_pk, workflow_id
    )
    result = await run_single_node(
        services, draft.nodes, draft.edges, node_id, body.model_dump(), apps=apps
    )
    return RunNodeOut(**result)
