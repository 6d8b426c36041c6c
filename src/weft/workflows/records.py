"""Workflow records: create, find, list, rename, delete. Graph contents live in `versions`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import InvalidInput, NotFound
from weft.ids import is_id, new_id
from weft.nodes import START_TYPE
from weft.store.pagination import Page, paginate
from weft.store.scope import Scope, scope_columns, scoped_select
from weft.store.tables import App, Workflow, WorkflowDraftId, WorkflowVersion
from weft.workflows.live_cache import LIVE_STARTS
from weft.workflows.trigger_index import stop_workflow_app_trigger

MAX_NAME_LENGTH = 200


def start_node() -> dict[str, Any]:
    """The single node a new workflow starts with, shaped as Refold's."""
    return {
        "id": "1",
        "type": START_TYPE,
        "name": "Start",
        "incoming_nodes": [],
        "outgoing_nodes": [],
        "data": None,
        "position": {"x": 0, "y": 0},
    }


@dataclass(frozen=True)
class Located:
    """A workflow found by an id that named it or its draft."""

    workflow: Workflow
    by_draft_id: bool


def check_name(name: Any, *, field: str = "name") -> str:
    """A workflow name: a non-empty string of bounded length."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{field} must be a non-empty string", error_code="INVALID_NAME")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"{field} is longer than {MAX_NAME_LENGTH} characters")
    return name.strip()


async def create_workflow(
    scope: Scope,
    *,
    name: str,
    app: App,
    description: str | None,
    session: AsyncSession,
) -> tuple[Workflow, WorkflowVersion]:
    """A new private workflow of `app` with a draft holding only the start node."""
    name = check_name(name)
    moment = now()
    workflow = Workflow(
        id=new_id(),
        app_id=app.id,
        name=name,
        description=description,
        published=False,
        current_version=0,
        created_at=moment,
        updated_at=moment,
        **scope_columns(scope),
    )
    draft = WorkflowVersion(
        id=new_id(),
        workflow_id=workflow.id,
        version=None,
        nodes=[start_node()],
        edges=[],
        settings={},
        created_at=moment,
        updated_at=moment,
        **scope_columns(scope),
    )
    workflow.draft_id = draft.id
    session.add(workflow)
    await session.flush()
    session.add(draft)
    remember_draft_id(workflow, draft, origin=True, session=session)
    await session.flush()
    return workflow, draft


def remember_draft_id(
    workflow: Workflow, draft: WorkflowVersion, *, origin: bool, session: AsyncSession
) -> None:
    """Record a draft id handed out, so it resolves (create's) or explains itself later."""
    session.add(
        WorkflowDraftId(
            id=draft.id, workflow_id=workflow.id, origin=origin, created_at=draft.created_at
        )
    )


async def locate_workflow(
    scope: Scope, workflow_or_draft_id: str, *, session: AsyncSession, for_update: bool = False
) -> Located:
    """The caller's workflow named by its own id or its draft's id; 404 for anyone else's."""
    if is_id(workflow_or_draft_id):
        stmt = scoped_select(Workflow, scope).where(
            (Workflow.id == workflow_or_draft_id) | (Workflow.draft_id == workflow_or_draft_id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        workflow = await session.scalar(stmt)
        if workflow is not None:
            return Located(workflow, by_draft_id=workflow.id != workflow_or_draft_id)
        former = await _former_draft(
            scope, workflow_or_draft_id, session=session, for_update=for_update
        )
        if former is not None:
            return former
    raise NotFound(f"Workflow {workflow_or_draft_id} not found", error_code="WORKFLOW_NOT_FOUND")


async def _former_draft(
    scope: Scope, draft_id: str, *, session: AsyncSession, for_update: bool
) -> Located | None:
    """Create's draft id names its workflow for good; a later, finished draft's id says so."""
    stmt = (
        scoped_select(Workflow, scope)
        .add_columns(WorkflowDraftId.origin)
        .join(WorkflowDraftId, WorkflowDraftId.workflow_id == Workflow.id)
        .where(WorkflowDraftId.id == draft_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Workflow)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    workflow, origin = row
    if origin:
        return Located(workflow, by_draft_id=False)
    raise NotFound(
        f"Draft {draft_id} no longer exists (it was published or discarded); "
        f"its workflow is {workflow.id}: use that id",
        error_code="DRAFT_NOT_FOUND",
        details={"workflow_id": workflow.id},
    )


@dataclass(frozen=True)
class WorkflowFilter:
    """Refold's workflow list filters: app slug, name contains, published or not."""

    slug: str | None = None
    name: str | None = None
    published: bool | None = None


async def list_workflows(
    scope: Scope, filters: WorkflowFilter, *, page: int, limit: int, session: AsyncSession
) -> Page[Workflow]:
    """The linked account's private workflows, newest first, filtered as Refold's list is."""
    slug, name, published = filters.slug, filters.name, filters.published
    stmt = scoped_select(Workflow, scope)
    if slug:
        stmt = stmt.where(
            Workflow.app_id.in_(
                select(App.id).where(
                    App.slug == slug, (App.org_id.is_(None)) | (App.org_id == scope.org_id)
                )
            )
        )
    if name:
        stmt = stmt.where(Workflow.name.ilike(f"%{escape_like(name)}%", escape="\\"))
    if published is not None:
        stmt = stmt.where(Workflow.published.is_(published))
    return await paginate(
        stmt,
        session=session,
        page=page,
        limit=limit,
        order_by=(Workflow.created_at.desc(), Workflow.id.desc()),
    )


def escape_like(text: str) -> str:
    """`text` matched literally by LIKE (its % and _ and \\ escaped with \\)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def apps_by_id(ids: set[str], *, session: AsyncSession) -> dict[str, App]:
    """Apps for a page of workflows, in one query."""
    if not ids:
        return {}
    return {app.id: app for app in await session.scalars(select(App).where(App.id.in_(ids)))}


async def rename_workflow(
    scope: Scope,
    workflow_id: str,
    *,
    name: str | None,
    description: str | None,
    session: AsyncSession,
) -> Workflow:
    """Change a workflow's name and/or description."""
    workflow = (await locate_workflow(scope, workflow_id, session=session)).workflow
    if name is not None:
        workflow.name = check_name(name)
    if description is not None:
        workflow.description = description
    workflow.updated_at = now()
    await session.flush()
    return workflow


async def delete_workflow(scope: Scope, workflow_id: str, *, session: AsyncSession) -> int:
    """Delete a workflow with its draft, versions and runs; returns the triggers it had live."""
    workflow = (await locate_workflow(scope, workflow_id, session=session)).workflow
    live_triggers = int(
        workflow.published and workflow.trigger in ("event", "webhook", "schedule", "app")
    )
    await stop_workflow_app_trigger(workflow.id, session=session)
    await session.execute(delete(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id))
    await session.execute(delete(Workflow).where(Workflow.id == workflow.id))
    LIVE_STARTS.forget_all()
    return live_triggers
