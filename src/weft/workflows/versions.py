"""Drafts, publishing and the version history of a workflow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import Conflict, GraphInvalid, InvalidInput, NotFound
from weft.ids import new_id
from weft.store.pagination import Page, paginate
from weft.store.scope import OrgScope, Scope, scope_columns, scoped_select
from weft.store.tables import Workflow, WorkflowVersion
from weft.workflows import annotations
from weft.workflows.graph import Graph, GraphProblem, GraphShapeError, normalize_graph
from weft.workflows.live_cache import LIVE_STARTS
from weft.workflows.public import check_draft_settings, check_publishable
from weft.workflows.records import locate_workflow, remember_draft_id, start_node
from weft.workflows.trigger_index import ensure_webhook_secret, index_triggers
from weft.workflows.validation import validate_for_publish

# What the app catalog refuses in a workflow's graph (apps.checks.catalog_problems), called as
# `(scope, workflow, graph, session=)`: the apps package sits above this one, so publishing is
# handed the check by its caller.
CatalogProblems = Callable[..., Awaitable[list[GraphProblem]]]


def _graph_json(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        graph = normalize_graph(nodes, edges)
    except GraphShapeError as error:
        raise InvalidInput(
            "The workflow graph is malformed: " + "; ".join(p.message for p in error.problems),
            error_code="INVALID_GRAPH",
            details={"errors": [p.to_dict() for p in error.problems]},
        ) from error
    return graph.nodes_json(), graph.edges_json()


async def live_version(
    scope: Scope, workflow: Workflow, *, session: AsyncSession
) -> WorkflowVersion | None:
    """The version that runs now (None before the first publish)."""
    if workflow.current_version == 0:
        return None
    return await _version(scope, workflow.id, workflow.current_version, session=session)


async def _version(
    scope: Scope, workflow_id: str, number: int, *, session: AsyncSession
) -> WorkflowVersion | None:
    stmt = scoped_select(WorkflowVersion, scope).where(
        WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == number
    )
    return await session.scalar(stmt)


async def draft_or_new_nodes(
    scope: Scope, workflow: Workflow, *, session: AsyncSession
) -> list[dict[str, Any]]:
    """The draft's nodes, or those a new draft would start from: reads only, creates nothing."""
    if workflow.draft_id is not None:
        draft = await session.scalar(
            scoped_select(WorkflowVersion, scope).where(WorkflowVersion.id == workflow.draft_id)
        )
        if draft is not None:
            return list(draft.nodes)
    live = await live_version(scope, workflow, session=session)
    return list(live.nodes) if live else [start_node()]


async def open_draft(
    scope: Scope, workflow_id: str, *, session: AsyncSession
) -> tuple[Workflow, WorkflowVersion]:
    """The workflow's draft, created from the live version (or the start node) on first call."""
    workflow = (
        await locate_workflow(scope, workflow_id, session=session, for_update=True)
    ).workflow
    if workflow.draft_id is not None:
        draft = await session.scalar(
            scoped_select(WorkflowVersion, scope).where(WorkflowVersion.id == workflow.draft_id)
        )
        if draft is not None:
            ensure_webhook_secret(workflow, draft.nodes)
            return workflow, draft
    live = await live_version(scope, workflow, session=session)
    moment = now()
    draft = WorkflowVersion(
        id=new_id(),
        workflow_id=workflow.id,
        version=None,
        nodes=list(live.nodes) if live else [start_node()],
        edges=list(live.edges) if live else [],
        settings=dict(live.settings) if live else {},
        notes=list(live.notes or []) if live else None,
        created_at=moment,
        updated_at=moment,
        **scope_columns(scope),
    )
    session.add(draft)
    remember_draft_id(workflow, draft, origin=False, session=session)
    await session.flush()
    workflow.draft_id = draft.id
    ensure_webhook_secret(workflow, draft.nodes)
    await session.flush()
    return workflow, draft


async def save_draft(
    scope: Scope,
    workflow_id: str,
    *,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]] | None,
    settings: dict[str, Any] | None,
    session: AsyncSession,
    revision: int | None = None,
    notes: list[dict[str, Any]] | None = None,
    pinned: dict[str, Any] | None = None,
) -> tuple[Workflow, WorkflowVersion]:
    """Replace the draft's graph (and settings, notes, pins when given); the live version is
    untouched.

    With `revision`, the save only happens if the draft is still at that revision (409 else).
    """
    node_json, edge_json = _graph_json(nodes, edges)
    workflow, draft = await open_draft(scope, workflow_id, session=session)
    if revision is not None and revision != workflow.draft_revision:
        raise Conflict(
            f"The draft changed since revision {revision} (now {workflow.draft_revision}): "
            "reload it before saving",
            error_code="DRAFT_CONFLICT",
            details={"revision": workflow.draft_revision},
        )
    if settings is not None:
        check_draft_settings(scope, settings)
    bump_draft_revision(workflow)
    draft.nodes = node_json
    draft.edges = edge_json
    if settings is not None:
        draft.settings = settings
    if notes is not None:
        draft.notes = annotations.check_notes(notes)
    if pinned is not None or draft.pinned:
        # Pins of steps the graph no longer has go with them.
        node_ids = {node["id"] for node in node_json}
        kept = pinned if pinned is not None else dict(draft.pinned or {})
        draft.pinned = annotations.check_pinned(kept, node_ids)
    draft.updated_at = now()
    ensure_webhook_secret(workflow, node_json)
    await session.flush()
    return workflow, draft


def bump_draft_revision(workflow: Workflow) -> None:
    """Mark the draft as changed, so saves based on an older copy are refused."""
    workflow.draft_revision = (workflow.draft_revision or 0) + 1


async def discard_draft(scope: Scope, workflow_id: str, *, session: AsyncSession) -> Workflow:
    """Drop the draft; the next edit starts again from the live version."""
    workflow = (
        await locate_workflow(scope, workflow_id, session=session, for_update=True)
    ).workflow
    if workflow.draft_id is None:
        raise NotFound(f"Workflow {workflow.id} has no draft", error_code="DRAFT_NOT_FOUND")
    await session.execute(delete(WorkflowVersion).where(WorkflowVersion.id == workflow.draft_id))
    workflow.draft_id = None
    bump_draft_revision(workflow)
    workflow.updated_at = now()
    await session.flush()
    return workflow


async def refuse_graph_problems(
    scope: Scope,
    workflow: Workflow,
    graph: Graph,
    refusal: str,
    *,
    catalog_problems: CatalogProblems,
    session: AsyncSession,
) -> None:
    """422 INVALID_WORKFLOW_GRAPH listing every problem publishing refuses in `graph` (the graph
    checks and the catalog's), its message `refusal` and the count; publishing, test runs and
    draft replays all refuse the same graphs."""
    problems = validate_for_publish(graph)
    problems += await catalog_problems(scope, workflow, graph, session=session)
    if problems:
        raise GraphInvalid(
            f"{refusal}: {len(problems)} problem(s) found",
            error_code="INVALID_WORKFLOW_GRAPH",
            details={"errors": [p.to_dict() for p in problems]},
        )


async def set_published(
    scope: Scope,
    workflow_or_draft_id: str,
    published: bool,
    *,
    catalog_problems: CatalogProblems,
    session: AsyncSession,
) -> Workflow:
    """Publish the draft as version N+1, or (published=False) take the live workflow offline.

    `catalog_problems` finds what the app catalog refuses in the graph (apps.checks)."""
    located = await locate_workflow(scope, workflow_or_draft_id, session=session, for_update=True)
    workflow = located.workflow
    if not published:
        if located.by_draft_id:
            raise InvalidInput(
                "A draft cannot be unpublished; pass the workflow id",
                error_code="INVALID_WORKFLOW_ID",
            )
        workflow.published = False
        LIVE_STARTS.forget_all()
        workflow.updated_at = now()
        await index_triggers(workflow, None, session=session)
        await session.flush()
        return workflow
    if workflow.draft_id is None:
        if workflow.current_version == 0:
            raise InvalidInput("Workflow has nothing to publish", error_code="NOTHING_TO_PUBLISH")
        # No pending edits: publishing again just puts the live version back online.
        workflow.published = True
        LIVE_STARTS.forget_all()
        workflow.updated_at = now()
        live = await live_version(scope, workflow, session=session)
        await index_triggers(workflow, live.nodes if live else None, session=session)
        await session.flush()
        return workflow
    _, draft = await open_draft(scope, workflow.id, session=session)
    check_publishable(scope, draft.nodes)
    graph = normalize_graph(draft.nodes, draft.edges)
    await refuse_graph_problems(
        scope,
        workflow,
        graph,
        "The workflow cannot be published",
        catalog_problems=catalog_problems,
        session=session,
    )
    moment = now()
    number = workflow.current_version + 1
    session.add(
        WorkflowVersion(
            id=new_id(),
            workflow_id=workflow.id,
            version=number,
            nodes=draft.nodes,
            edges=draft.edges,
            settings=draft.settings,
            notes=draft.notes,
            created_at=moment,
            updated_at=moment,
            **scope_columns(scope),
        )
    )
    workflow.current_version = number
    workflow.published = True
    LIVE_STARTS.forget_all()
    workflow.draft_id = None
    bump_draft_revision(workflow)
    workflow.updated_at = moment
    try:
        await session.flush()
    except IntegrityError as error:
        raise Conflict(
            "The workflow was published concurrently; retry", error_code="PUBLISH_CONFLICT"
        ) from error
    await session.execute(delete(WorkflowVersion).where(WorkflowVersion.id == draft.id))
    await index_triggers(workflow, draft.nodes, session=session)
    return workflow


async def list_versions(
    scope: Scope, workflow_id: str, *, page: int, limit: int, session: AsyncSession
) -> Page[WorkflowVersion]:
    """Published versions, newest first."""
    workflow = (await locate_workflow(scope, workflow_id, session=session)).workflow
    stmt = scoped_select(WorkflowVersion, scope).where(
        WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.version.is_not(None)
    )
    return await paginate(
        stmt,
        session=session,
        page=page,
        limit=limit,
        order_by=(WorkflowVersion.version.desc(),),
    )


async def restore_version(
    scope: Scope, workflow_id: str, number: int, *, session: AsyncSession
) -> tuple[Workflow, WorkflowVersion]:
    """Copy an old version into the draft; publishing it afterwards is a rollback."""
    workflow, old = await version_content(scope, workflow_id, number, session=session)
    workflow, draft = await open_draft(scope, workflow.id, session=session)
    bump_draft_revision(workflow)
    draft.nodes = old.nodes
    draft.edges = old.edges
    draft.settings = old.settings
    draft.notes = old.notes
    if draft.pinned:
        draft.pinned = annotations.check_pinned(draft.pinned, {n["id"] for n in old.nodes})
    draft.updated_at = now()
    ensure_webhook_secret(workflow, draft.nodes)
    await session.flush()
    return workflow, draft


async def version_content(
    scope: Scope, workflow_id: str, number: int, *, session: AsyncSession
) -> tuple[Workflow, WorkflowVersion]:
    """One published version of the caller's workflow, or 404."""
    workflow = (await locate_workflow(scope, workflow_id, session=session)).workflow
    found = await _version(scope, workflow.id, number, session=session)
    if found is None:
        raise NotFound(
            f"Workflow {workflow.id} has no version {number}", error_code="VERSION_NOT_FOUND"
        )
    return workflow, found


async def draft_problems(
    scope: OrgScope,
    workflow: Workflow,
    draft: WorkflowVersion,
    *,
    catalog_problems: CatalogProblems,
    session: AsyncSession,
) -> list[dict[str, Any]]:
    """What publishing this draft would refuse, as `{node_id, field, code, message}`: the graph
    checks and the catalog's (unknown apps or actions, bad parameters, missing connections)."""
    try:
        graph = normalize_graph(draft.nodes, draft.edges)
    except GraphShapeError as error:  # saved before a rule tightened: report, do not fail
        return [p.to_dict() for p in error.problems]
    problems = validate_for_publish(graph)
    problems += await catalog_problems(scope, workflow, graph, session=session)
    return [p.to_dict() for p in problems]
