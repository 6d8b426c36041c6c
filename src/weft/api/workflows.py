"""Private workflows: create, list, read, edit drafts, publish, versions, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from weft.api.deps import DbDep, PageDep, WorkflowScopeDep
from weft.api.openapi import DraftNodeJson, NodeJson
from weft.api.openapi_shapes import EdgesJson
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, ErrorOut, Out, PageOut
from weft.apps.catalog import resolve_app
from weft.apps.checks import catalog_problems
from weft.store.db import Database
from weft.store.scope import OrgScope, Scope, account_id_of
from weft.store.tables import App, Workflow, WorkflowVersion
from weft.workflows import service
from weft.workflows.annotations import MAX_NOTE_TEXT, MAX_NOTES, NoteColor
from weft.workflows.records import WorkflowFilter
from weft.workflows.service import WorkflowGraph
from weft.workflows.trigger_index import start_config, webhook_path

router = Router(tags=["workflows"], responses=ERROR_RESPONSES)


DEFAULT_WORKFLOW_NAME = "Untitled workflow"


class WorkflowCreate(BaseModel):
    name: str = Field(DEFAULT_WORKFLOW_NAME, min_length=1, max_length=200)
    slug: str | None = Field(None, description="App slug; default: the org's custom app")
    associated_application: str | None = Field(None, description="App id, instead of slug")
    description: str | None = Field(None, max_length=5000)


class WorkflowUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)


class NotePosition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: float = Field(ge=-1e6, le=1e6)
    y: float = Field(ge=-1e6, le=1e6)


class NoteJson(BaseModel):
    """A sticky note on the canvas: text for people, never run (workflows.annotations)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    text: str = Field("", max_length=MAX_NOTE_TEXT)
    position: NotePosition
    width: float = Field(220, ge=80, le=2000)
    height: float = Field(140, ge=60, le=2000)
    color: NoteColor = "yellow"


class DraftSave(BaseModel):
    nodes: list[DraftNodeJson] = Field(max_length=500)
    edges: list[dict[str, Any]] | None = Field(None, max_length=2000)
    settings: dict[str, Any] | None = None
    notes: list[NoteJson] | None = Field(
        None, max_length=MAX_NOTES, description="Sticky notes; absent: kept as they are"
    )
    pinned: dict[str, Any] | None = Field(
        None,
        max_length=500,
        description="Test outputs pinned by node id, saved with the draft (absent: kept; "
        "pins of nodes the graph lacks are dropped)",
    )
    revision: int | None = Field(
        None, ge=0, description="The draft revision this edit is based on; a stale one: 409"
    )


class PublishIn(BaseModel):
    published: bool = True


class AppRef(Out):
    id: str = Field(alias="_id")
    name: str
    slug: str


class WorkflowSummaryOut(Out):
    """A workflow record as Refold's list shows it (no graph)."""

    id: str = Field(alias="_id")
    name: str
    description: str | None
    org_id: str
    published: bool
    associated_application: AppRef
    slug: str
    environment: str
    linked_account_id: str | None = Field(description="None: a public (org-level) workflow")
    scope: str = Field(description="private (a linked account's) or public (the org's)")
    is_v2: bool = True
    public_access_workflow: bool = True
    current_version: int
    draft_id: str | None
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    trigger: str | None = Field(None, description="The live start node's trigger")
    webhook_path: str | None = Field(None, description="Inbound URL path of a webhook trigger")
    paused_at: datetime | None = Field(
        None, description="Set while it is paused after failed runs in a row (see /pause)"
    )

    @classmethod
    def of(cls, scope: OrgScope, workflow: Workflow, app: App, **graph: Any) -> Any:
        return cls(
            id=workflow.id,
            name=workflow.name,
            description=workflow.description,
            org_id=workflow.org_id,
            published=workflow.published,
            associated_application=AppRef(id=app.id, name=app.name, slug=app.slug),
            slug=app.slug,
            environment=workflow.environment,
            linked_account_id=account_id_of(scope),
            scope=_scope_name(scope),
            current_version=workflow.current_version,
            draft_id=workflow.draft_id,
            created_at=workflow.created_at,
            updated_at=workflow.updated_at,
            trigger=workflow.trigger,
            webhook_path=_webhook_path(workflow),
            paused_at=workflow.paused_at,
            **graph,
        )


class WorkflowOut(WorkflowSummaryOut):
    """One workflow with its live graph (the start node alone before the first publish)."""

    nodes: list[NodeJson]
    edges: EdgesJson

    @classmethod
    def with_graph(cls, scope: OrgScope, found: WorkflowGraph) -> WorkflowOut:
        """The workflow as `GET /workflow/{id}` answers it."""
        graph = {"nodes": found.nodes, "edges": found.edges}
        return cls.of(scope, found.workflow, found.app, **graph)  # type: ignore[no-any-return]


class ProblemOut(Out):
    node_id: str | None
    field: str | None
    code: str
    message: str


class DraftOut(Out):
    """A draft: its own `_id`, pointing at its workflow through `associated_workflow`."""

    id: str = Field(alias="_id")
    associated_workflow: str
    name: str
    description: str | None
    published: bool = False
    nodes: list[DraftNodeJson]
    edges: EdgesJson
    settings: dict[str, Any]
    linked_account_id: str | None = Field(description="None: a public (org-level) workflow")
    scope: str = Field(description="private (a linked account's) or public (the org's)")
    data_slots: list[dict[str, Any]] = Field(description="Public workflows: settings.data_slots")
    environment: str
    public_access_workflow: bool = True
    org_id: str
    current_version: int
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    revision: int = Field(description="+1 on every change; send it back when saving")
    problems: list[ProblemOut] = Field(description="What publishing this draft would refuse")
    notes: list[dict[str, Any]] = Field(default_factory=list, description="Sticky notes")
    pinned: dict[str, Any] = Field(
        default_factory=dict, description="Test outputs pinned by node id"
    )
    webhook_path: str | None = Field(
        None,
        description="Inbound URL path of the draft's webhook (or app) trigger, known before "
        "publish; it starts runs once that trigger is live (`webhook_live`)",
    )
    webhook_live: bool = Field(False, description="The live version listens at webhook_path")

    @classmethod
    async def of(
        cls, db: Database, scope: OrgScope, workflow: Workflow, draft: WorkflowVersion
    ) -> DraftOut:
        problems = await service.draft_problems(
            db, scope, workflow, draft, catalog_problems=catalog_problems
        )
        path = webhook_path(workflow, start_config(draft.nodes).get("trigger"))
        return cls(
            id=draft.id,
            associated_workflow=workflow.id,
            name=workflow.name,
            description=workflow.description,
            nodes=draft.nodes,
            edges=draft.edges,
            settings=draft.settings,
            data_slots=list((draft.settings or {}).get("data_slots") or []),
            linked_account_id=account_id_of(scope),
            scope=_scope_name(scope),
            environment=workflow.environment,
            org_id=workflow.org_id,
            current_version=workflow.current_version,
            created_at=draft.created_at,
            updated_at=draft.updated_at,
            revision=workflow.draft_revision,
            problems=[ProblemOut(**p) for p in problems],
            notes=list(draft.notes or []),
            pinned=dict(draft.pinned or {}),
            webhook_path=path,
            webhook_live=bool(path and workflow.published and path == _webhook_path(workflow)),
        )


def _webhook_path(workflow: Workflow) -> str | None:
    """Where callers send the live webhook trigger's requests; an app trigger's deliveries go
    to `/hooks/app/...` (only a webhook-kind app trigger receives any)."""
    return webhook_path(workflow, workflow.trigger)


def _scope_name(scope: OrgScope) -> str:
    return "private" if isinstance(scope, Scope) else "public"


class CreatedOut(BaseModel):
    workflow: DraftOut


class PublishedOut(Out):
    id: str = Field(alias="_id")
    published: bool
    current_version: int
    updated_at: datetime = Field(alias="updatedAt")
    revision: int = Field(description="The draft revision after this change")


class WorkflowDeletedOut(BaseModel):
    success: bool
    triggers_deregistered: int


class VersionOut(Out):
    version: int
    id: str = Field(alias="_id")
    live: bool
    created_at: datetime = Field(alias="createdAt")


@router.post("/workflow", response_model=CreatedOut, summary="Create private workflow")
async def create_workflow(
    scope: WorkflowScopeDep, db: DbDep, body: Annotated[WorkflowCreate | None, Body()] = None
) -> CreatedOut:
    """A new private workflow (default name when none is given) and its first draft."""
    body = body or WorkflowCreate()
    workflow, draft = await service.create_workflow(
        db,
        scope,
        name=body.name,
        slug=body.slug,
        app_id=body.associated_application,
        description=body.description,
        resolve_app=resolve_app,
    )
    return CreatedOut(workflow=await DraftOut.of(db, scope, workflow, draft))


@router.get(
    "/workflow", response_model=PageOut[WorkflowSummaryOut], summary="List private workflows"
)
async def list_workflows(
    scope: WorkflowScopeDep,
    db: DbDep,
    paging: PageDep,
    slug: str | None = Query(None, description="Only workflows of this app"),
    name: str | None = Query(None, description="Name contains (case-insensitive)"),
    published: bool | None = Query(None),
) -> PageOut[Any]:
    filters = WorkflowFilter(slug=slug, name=name, published=published)
    found = await service.list_workflows(db, scope, filters, page=paging.page, limit=paging.limit)
    docs = [WorkflowSummaryOut.of(scope, w, found.apps[w.app_id]) for w in found.page.items]
    return PageOut.of(found.page, docs)


@router.get(
    "/workflow/versions/{workflow_id}",
    response_model=PageOut[VersionOut],
    summary="Published versions, newest first",
)
async def list_versions(
    workflow_id: str, scope: WorkflowScopeDep, db: DbDep, paging: PageDep
) -> PageOut[Any]:
    workflow, page = await service.list_versions(
        db, scope, workflow_id, page=paging.page, limit=paging.limit
    )
    docs = [
        VersionOut(
            version=v.version or 0,
            id=v.id,
            live=workflow.published and v.version == workflow.current_version,
            created_at=v.created_at,
        )
        for v in page.items
    ]
    return PageOut.of(page, docs)


@router.get("/workflow/{workflow_id}", response_model=WorkflowOut, summary="One workflow")
async def get_workflow(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> WorkflowOut:
    """The workflow with its live graph (the start node alone before the first publish)."""
    return WorkflowOut.with_graph(scope, await service.get_workflow(db, scope, workflow_id))


@router.patch("/workflow/{workflow_id}", response_model=WorkflowOut, summary="Rename")
async def update_workflow(
    workflow_id: str,
    scope: WorkflowScopeDep,
    db: DbDep,
    body: Annotated[WorkflowUpdate | None, Body()] = None,
) -> WorkflowOut:
    body = body or WorkflowUpdate()
    renamed = await service.rename_workflow(
        db, scope, workflow_id, name=body.name, description=body.description
    )
    return WorkflowOut.with_graph(scope, renamed)


@router.delete("/workflow/{workflow_id}", response_model=WorkflowDeletedOut, summary="Delete")
async def delete_workflow(
    workflow_id: str, scope: WorkflowScopeDep, db: DbDep
) -> WorkflowDeletedOut:
    deregistered = await service.delete_workflow(db, scope, workflow_id)
    return WorkflowDeletedOut(success=True, triggers_deregistered=deregistered)


@router.get("/workflow/{workflow_id}/edit", response_model=DraftOut, summary="Open the draft")
async def edit_workflow(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> DraftOut:
    """The draft, created from the live version on first call and the same one after."""
    workflow, draft = await service.open_draft(db, scope, workflow_id)
    return await DraftOut.of(db, scope, workflow, draft)


@router.put(
    "/workflow/{workflow_id}/draft",
    response_model=DraftOut,
    summary="Save the draft",
    responses={409: {"model": ErrorOut, "description": "DRAFT_CONFLICT: `revision` is stale"}},
)
async def save_draft(
    workflow_id: str, body: DraftSave, scope: WorkflowScopeDep, db: DbDep
) -> DraftOut:
    """Replace the draft's nodes and edges; the live version is untouched until publish."""
    workflow, draft = await service.save_draft(
        db,
        scope,
        workflow_id,
        nodes=body.nodes,
        edges=body.edges,
        settings=body.settings,
        revision=body.revision,
        notes=None if body.notes is None else [n.model_dump() for n in body.notes],
        pinned=body.pinned,
    )
    return await DraftOut.of(db, scope, workflow, draft)


@router.delete("/workflow/{workflow_id}/draft", response_model=WorkflowOut, summary="Discard")
async def discard_draft(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> WorkflowOut:
    return WorkflowOut.with_graph(scope, await service.discard_draft(db, scope, workflow_id))


@router.put(
    "/workflow/{workflow_id}/publish",
    response_model=PublishedOut,
    summary="Publish the draft, or unpublish",
    responses={422: {"model": ErrorOut, "description": "Graph invalid: every problem listed"}},
)
async def publish_workflow(
    workflow_id: str,
    scope: WorkflowScopeDep,
    db: DbDep,
    body: Annotated[PublishIn | None, Body()] = None,
) -> PublishedOut:
    body = body or PublishIn()
    workflow = await service.set_published(
        db, scope, workflow_id, body.published, catalog_problems=catalog_problems
    )
    return PublishedOut(
        id=workflow.id,
        published=workflow.published,
        current_version=workflow.current_version,
        updated_at=workflow.updated_at,
        revision=workflow.draft_revision,
    )


@router.post(
    "/workflow/{workflow_id}/versions/{version}/restore",
    response_model=DraftOut,
    summary="Copy an old version into the draft",
)
async def restore_version(
    workflow_id: str,
    version: Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number")],
    scope: WorkflowScopeDep,
    db: DbDep,
) -> DraftOut:
    workflow, draft = await service.restore_version(db, scope, workflow_id, version)
    return await DraftOut.of(db, scope, workflow, draft)
