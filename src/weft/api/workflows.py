"""Private workflows: create, list, read, edit drafts, publish, versions, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from weft.api.deps import DbDep, PageDep, WorkflowScopeDep
from weft.api.schemas import ERROR_RESPONSES, ErrorOut, Out, PageOut
from weft.store.scope import OrgScope, Scope, account_id_of
from weft.store.tables import App, Workflow, WorkflowVersion
from weft.workflows import records, versions

router = APIRouter(tags=["workflows"], responses=ERROR_RESPONSES)


class WorkflowCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(None, description="App slug; default: the org's custom app")
    associated_application: str | None = Field(None, description="App id, instead of slug")
    description: str | None = Field(None, max_length=5000)


class WorkflowUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)


class DraftSave(BaseModel):
    nodes: list[dict[str, Any]] = Field(max_length=500)
    edges: list[dict[str, Any]] | None = Field(None, max_length=2000)
    settings: dict[str, Any] | None = None
    revision: int | None = Field(
        None, ge=0, description="The draft revision this edit is based on; a stale one: 409"
    )


class PublishIn(BaseModel):
    published: bool = True


class AppRef(Out):
    id: str = Field(alias="_id")
    name: str
    slug: str


class WorkflowOut(Out):
    """A workflow record as Refold's list shows it, plus its live graph when read alone."""

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
    nodes: list[dict[str, Any]] | None = None
    edges: list[dict[str, Any]] | None = None
    trigger: str | None = Field(None, description="The live start node's trigger")
    webhook_path: str | None = Field(None, description="Inbound URL path of a webhook trigger")

    @classmethod
    def of(cls, scope: OrgScope, workflow: Workflow, app: App, **graph: Any) -> WorkflowOut:
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
            webhook_path=(
                f"/hooks/{workflow.webhook_secret}"
                if workflow.trigger == "webhook" and workflow.webhook_secret
                else None
            ),
            **graph,
        )


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
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
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

    @classmethod
    def of(cls, scope: OrgScope, workflow: Workflow, draft: WorkflowVersion) -> DraftOut:
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
            problems=[ProblemOut(**p) for p in versions.draft_problems(draft)],
        )


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


class DeletedOut(BaseModel):
    success: bool
    triggers_deregistered: int


class VersionOut(Out):
    version: int
    id: str = Field(alias="_id")
    live: bool
    created_at: datetime = Field(alias="createdAt")


@router.post("/workflow", response_model=CreatedOut, summary="Create private workflow")
async def create_workflow(body: WorkflowCreate, scope: WorkflowScopeDep, db: DbDep) -> CreatedOut:
    async with db.transaction() as session:
        workflow, draft, _ = await records.create_workflow(
            scope,
            name=body.name,
            slug=body.slug,
            app_id=body.associated_application,
            description=body.description,
            session=session,
        )
        return CreatedOut(workflow=DraftOut.of(scope, workflow, draft))


@router.get("/workflow", response_model=PageOut[WorkflowOut], summary="List private workflows")
async def list_workflows(
    scope: WorkflowScopeDep,
    db: DbDep,
    paging: PageDep,
    slug: str | None = Query(None, description="Only workflows of this app"),
    name: str | None = Query(None, description="Name contains (case-insensitive)"),
    published: bool | None = Query(None),
) -> PageOut[Any]:
    async with db.reading() as session:
        page = await records.list_workflows(
            scope,
            slug=slug,
            name=name,
            published=published,
            page=paging.page,
            limit=paging.limit,
            session=session,
        )
        apps = await records.apps_by_id({w.app_id for w in page.items}, session=session)
        docs = [WorkflowOut.of(scope, w, apps[w.app_id]) for w in page.items]
        return PageOut.of(page, docs)


@router.get(
    "/workflow/versions/{workflow_id}",
    response_model=PageOut[VersionOut],
    summary="Published versions, newest first",
)
async def list_versions(
    workflow_id: str, scope: WorkflowScopeDep, db: DbDep, paging: PageDep
) -> PageOut[Any]:
    async with db.reading() as session:
        workflow = (await records.locate_workflow(scope, workflow_id, session=session)).workflow
        page = await versions.list_versions(
            scope, workflow.id, page=paging.page, limit=paging.limit, session=session
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
    async with db.reading() as session:
        workflow = (await records.locate_workflow(scope, workflow_id, session=session)).workflow
        live = await versions.live_version(scope, workflow, session=session)
        app = (await records.apps_by_id({workflow.app_id}, session=session))[workflow.app_id]
        nodes = live.nodes if live else [records.start_node()]
        edges = live.edges if live else []
        return WorkflowOut.of(scope, workflow, app, nodes=nodes, edges=edges)


@router.patch("/workflow/{workflow_id}", response_model=WorkflowOut, summary="Rename")
async def update_workflow(
    workflow_id: str, body: WorkflowUpdate, scope: WorkflowScopeDep, db: DbDep
) -> WorkflowOut:
    async with db.transaction() as session:
        workflow = await records.rename_workflow(
            scope, workflow_id, name=body.name, description=body.description, session=session
        )
        app = (await records.apps_by_id({workflow.app_id}, session=session))[workflow.app_id]
        return WorkflowOut.of(scope, workflow, app)


@router.delete("/workflow/{workflow_id}", response_model=DeletedOut, summary="Delete")
async def delete_workflow(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> DeletedOut:
    async with db.transaction() as session:
        deregistered = await records.delete_workflow(scope, workflow_id, session=session)
    return DeletedOut(success=True, triggers_deregistered=deregistered)


@router.get("/workflow/{workflow_id}/edit", response_model=DraftOut, summary="Open the draft")
async def edit_workflow(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> DraftOut:
    """The draft, created from the live version on first call and the same one after."""
    async with db.transaction() as session:
        workflow, draft = await versions.open_draft(scope, workflow_id, session=session)
        return DraftOut.of(scope, workflow, draft)


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
    async with db.transaction() as session:
        workflow, draft = await versions.save_draft(
            scope,
            workflow_id,
            nodes=body.nodes,
            edges=body.edges,
            settings=body.settings,
            revision=body.revision,
            session=session,
        )
        return DraftOut.of(scope, workflow, draft)


@router.delete("/workflow/{workflow_id}/draft", response_model=WorkflowOut, summary="Discard")
async def discard_draft(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> WorkflowOut:
    async with db.transaction() as session:
        workflow = await versions.discard_draft(scope, workflow_id, session=session)
        app = (await records.apps_by_id({workflow.app_id}, session=session))[workflow.app_id]
        return WorkflowOut.of(scope, workflow, app)


@router.put(
    "/workflow/{workflow_id}/publish",
    response_model=PublishedOut,
    summary="Publish the draft, or unpublish",
    responses={422: {"model": ErrorOut, "description": "Graph invalid: every problem listed"}},
)
async def publish_workflow(
    workflow_id: str, body: PublishIn, scope: WorkflowScopeDep, db: DbDep
) -> PublishedOut:
    async with db.transaction() as session:
        workflow = await versions.set_published(scope, workflow_id, body.published, session=session)
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
    async with db.transaction() as session:
        workflow, draft = await versions.restore_version(
            scope, workflow_id, version, session=session
        )
        return DraftOut.of(scope, workflow, draft)
