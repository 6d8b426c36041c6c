"""Routes the visual editor needs beyond Refold's: node types, a version's content, previews,
an MCP server's tools and an app action parameter's dynamic options."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Path
from pydantic import BaseModel, Field, model_validator

from weft.api.deps import (
    DbDep,
    OptionLoaderDep,
    ScopeDep,
    ServicesDep,
    SettingsDep,
    WorkflowScopeDep,
)
from weft.api.openapi import NodeJson
from weft.api.openapi_shapes import EdgesJson, OptionsError, documented
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.api.truncation import capped
from weft.clock import now
from weft.engine.agents.remote_mcp import remote_tools
from weft.engine.interpreter import expression_preview
from weft.errors import InvalidInput
from weft.expressions.evaluator import Limits
from weft.nodes.catalog import describe_node_types
from weft.nodes.start import cron_problem
from weft.store.json_codec import valid_json
from weft.workflows import service
from weft.workflows.trigger_index import next_tick

router = Router(tags=["editor"], responses=ERROR_RESPONSES)


class NodeTypeOut(Out):
    type: str
    label: str
    category: Literal["trigger", "action", "logic", "flow", "ai"]
    description: str
    branches: list[str] | Literal["cases"] = Field(
        description='Fixed branch handles, or "cases": true/false for an if/else condition, '
        'its case names and "default" for a switch. Any node with on_error "error" also has '
        'an "error" branch.'
    )
    effect: Literal["none", "read", "write", "depends"] = Field(
        description="Outside effect; write steps are skipped in safe test runs. depends: http "
        "by method (POST/PUT/PATCH/DELETE write), app actions by their declaration."
    )
    json_schema: dict[str, Any] = Field(
        alias="schema", description="JSON Schema of the node's `data`, from the engine's model"
    )
    defaults: dict[str, Any] | None = Field(description="A valid starting `data`")
    data_optional: bool
    expression_fields: list[str] = Field(
        description="Top-level `data` keys holding {{ }} templates or bare expressions"
    )
    template_fields: list[str]
    bare_expression_fields: list[str] = Field(
        description="Paths of bare JSONata fields (`cases[].expression`)"
    )
    advanced_fields: list[str]
    hidden_fields: list[str] = Field(
        default_factory=list, description="Fields that do nothing for this type: not shown"
    )
    output_example: Any = Field(None, description="The output's shape, before any run")
    write_when: dict[str, list[str]] | None = Field(
        None, description='effect "depends": `data` values that make the node write'
    )


class NodeTypesOut(Out):
    node_types: list[NodeTypeOut]


class VersionContentOut(Out):
    version: int
    id: str = Field(alias="_id")
    live: bool
    nodes: list[NodeJson]
    edges: EdgesJson
    settings: dict[str, Any]
    notes: list[dict[str, Any]] = Field(default_factory=list, description="Sticky notes")
    created_at: datetime = Field(alias="createdAt")


@router.get("/node-types", response_model=NodeTypesOut, summary="Node types for the editor")
async def list_node_types(_scope: WorkflowScopeDep) -> NodeTypesOut:
    """Every node type with its form schema, defaults, branches and outside effect."""
    return NodeTypesOut(node_types=[NodeTypeOut(**t) for t in describe_node_types()])


@router.get(
    "/workflow/{workflow_id}/versions/{version}",
    response_model=VersionContentOut,
    summary="One published version's graph",
)
async def get_version(
    workflow_id: str,
    version: Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number")],
    scope: WorkflowScopeDep,
    db: DbDep,
) -> VersionContentOut:
    """The nodes, edges and settings of a published version (to diff it with the draft)."""
    workflow, found = await service.version_content(db, scope, workflow_id, version)
    return VersionContentOut(
        version=found.version or version,
        id=found.id,
        live=workflow.published and found.version == workflow.current_version,
        nodes=found.nodes,
        edges=found.edges,
        settings=found.settings,
        notes=list(found.notes or []),
        created_at=found.created_at,
    )


class PreviewIn(BaseModel):
    expression: str | None = Field(None, max_length=20_000, description="A bare JSONata expression")
    template: Any = Field(None, description="A JSON value whose strings may hold {{ }} templates")
    node_id: str | None = Field(
        None, max_length=100, description="Only steps upstream of this node are in scope"
    )
    execution_id: str | None = Field(
        None, max_length=64, description="The run whose data is used; default: the latest test"
    )
    config: dict[str, Any] | None = Field(
        None, description="What `config` holds; default: what the run read ({} before any run)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> PreviewIn:
        if self.expression is None and "template" not in self.model_fields_set:
            raise ValueError("give expression or template")
        return self


class PreviewOut(Out):
    value: Any = Field(description="The result (truncated beyond 64 KiB of JSON); null on error")
    error: str | None = Field(description="Why it could not be evaluated")
    execution_id: str | None = Field(description="The run whose data was used, if any")


@router.post(
    "/workflow/{workflow_id}/expression/preview",
    response_model=PreviewOut,
    summary="Evaluate an expression or template against a test run's data",
)
async def preview_expression(
    workflow_id: str, body: PreviewIn, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> PreviewOut:
    """200 either way: `{value, error: null}` or `{value: null, error}`."""
    limits = Limits(
        settings.expression_timeout_ms, settings.expression_max_depth, settings.expression_native
    )
    value, error, run_id = await expression_preview.preview_expression(
        db,
        scope,
        workflow_id,
        expression=body.expression,
        template=body.template,
        node_id=body.node_id,
        execution_id=body.execution_id,
        limits=limits,
        config=body.config,
    )
    # Odd strings an expression made are shown as a run would record them.
    return PreviewOut(value=capped(valid_json(value)), error=error, execution_id=run_id)


class ScheduleIn(BaseModel):
    cron: str = Field(max_length=200, description="A 5-field cron expression")
    timezone: str = Field("UTC", max_length=100, description="IANA timezone the cron reads in")
    count: int = Field(5, ge=1, le=20)


class ScheduleOut(Out):
    next_runs: list[datetime] = Field(description="The next ticks, as aware times in `timezone`")
    problem: str | None = Field(description="Why the cron or timezone is unusable; then no runs")


@router.post("/schedule/preview", response_model=ScheduleOut, summary="A schedule's next runs")
async def preview_schedule(body: ScheduleIn, _scope: WorkflowScopeDep) -> ScheduleOut:
    """The next runs of a schedule trigger, computed as the scheduler computes them."""
    problem = cron_problem(body.cron)
    try:
        zone = ZoneInfo(body.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problem = problem or f"unknown IANA timezone {body.timezone!r}"
    if problem:
        return ScheduleOut(next_runs=[], problem=problem)
    runs: list[datetime] = []
    moment = now()
    for _ in range(body.count):
        moment = next_tick(body.cron, body.timezone, moment)
        runs.append(moment.astimezone(zone))
    return ScheduleOut(next_runs=runs, problem=None)


class McpToolsIn(BaseModel):
    url: str = Field(
        min_length=1, max_length=2000, description="The MCP server's Streamable HTTP endpoint"
    )
    connection: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="An app whose connection of the linked account signs the requests",
    )


class McpToolOut(Out):
    name: str
    title: str | None
    description: str
    input_schema: dict[str, Any] = Field(description="JSON Schema of the tool's arguments")


class McpToolsOut(Out):
    tools: list[McpToolOut]


@router.post("/mcp/tools", response_model=McpToolsOut, summary="A remote MCP server's tools")
async def list_mcp_tools(body: McpToolsIn, scope: ScopeDep, services: ServicesDep) -> McpToolsOut:
    """The tools an `mcp` node could call at `url`, with their input schemas, listed through
    the org's outbound policy as the node would call them (400 OUTBOUND_BLOCKED for a private
    address the policy does not open; 502 when the server cannot be reached or refuses)."""
    tools = await remote_tools(services, scope, body.url, body.connection)
    return McpToolsOut(tools=[McpToolOut(**tool.to_json()) for tool in tools])


class ParamOptionsIn(BaseModel):
    param: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="The parameter's dotted path (`channel`, `properties.pipeline`)",
    )
    values: dict[str, Any] = Field(
        default_factory=dict,
        description="The step's parameters as the form holds them (for options that depend on "
        "another parameter)",
    )
    refresh: bool = Field(False, description="Ask the app now (else kept up to 60 s)")


class ParamOptionOut(Out):
    label: str
    value: Any


class ParamOptionsOut(Out):
    options: list[ParamOptionOut] = Field(description="Empty when `error` says why")
    more: bool = Field(description="The app listed more than Weft loads (1000)")
    error: Annotated[dict[str, str] | None, documented(OptionsError, nullable=True)] = Field(
        description="`{error_code, message}`: CONNECTION_REQUIRED (connect the app), "
        "APP_CALL_FAILED (the app failed or refused), OPTIONS_NEED_VALUE (fill another "
        "parameter first)..."
    )


@router.post(
    "/application/{slug}/action/{action}/options",
    response_model=ParamOptionsOut,
    summary="An app action parameter's options, from the linked account's connected app",
)
async def param_options(
    slug: str, action: str, body: ParamOptionsIn, loader: OptionLoaderDep
) -> ParamOptionsOut:
    """The choices a parameter declaring `x-weft-options` offers, listed by the app's list
    action with the account's connection. A failure of the app is in `error` (200); an unknown
    app or action is 404, a parameter without options 400 NO_OPTIONS."""
    found = await loader.load_param(slug, action, body.param, body.values, refresh=body.refresh)
    if found is None:
        raise InvalidInput(
            f"Parameter {body.param} of {slug}.{action} declares no options",
            error_code="NO_OPTIONS",
        )
    return ParamOptionsOut(
        options=[ParamOptionOut(label=o["name"], value=o["value"]) for o in found.options or []],
        more=found.more,
        error=found.error,
    )
