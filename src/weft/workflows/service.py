"""Workflow operations as the API calls them: each opens and owns its one transaction.

Writes take a write transaction; reads a read transaction that creates nothing. Rows come back
usable after the commit (the sessions do not expire them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.errors import NotFound
from weft.store.db import Database
from weft.store.pagination import Page
from weft.store.scope import OrgScope, Scope, account_scope
from weft.store.tables import App, LinkedAccount, Workflow, WorkflowVersion
from weft.workflows import records, transfer, versions
from weft.workflows.live_cache import LIVE_STARTS
from weft.workflows.trigger_index import start_config

# Finds the app a new workflow belongs to (apps.catalog.resolve_app), called as
# `(org_id, slug=, app_id=, session=)`: the apps package sits above this one.
ResolveApp = Callable[..., Awaitable[App]]


@dataclass(frozen=True)
class WorkflowGraph:
    """A workflow with its app and live graph (the start node alone before the first publish)."""

    workflow: Workflow
    app: App
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


@dataclass(frozen=True)
class WorkflowPage:
    """One page of workflow records and the apps they belong to, by app id."""

    page: Page[Workflow]
    apps: dict[str, App]


async def _with_graph(scope: Scope, workflow: Workflow, *, session: AsyncSession) -> WorkflowGraph:
    live = await versions.live_version(scope, workflow, session=session)
    app = (await records.apps_by_id({workflow.app_id}, session=session))[workflow.app_id]
    nodes = live.nodes if live else [records.start_node()]
    return WorkflowGraph(workflow, app, nodes, live.edges if live else [])


async def create_workflow(
    db: Database,
    scope: Scope,
    *,
    name: str,
    slug: str | None,
    app_id: str | None,
    description: str | None,
    resolve_app: ResolveApp,
) -> tuple[Workflow, WorkflowVersion]:
    """A new workflow of the app `slug` or `app_id` names (neither: the org's default app) and
    its first draft. `resolve_app` finds that app (apps.catalog.resolve_app)."""
    async with db.transaction() as session:
        app = await resolve_app(scope.org_id, slug=slug, app_id=app_id, session=session)
        return await records.create_workflow(
            scope, name=name, app=app, description=description, session=session
        )


async def list_workflows(
    db: Database, scope: Scope, filters: records.WorkflowFilter, *, page: int, limit: int
) -> WorkflowPage:
    """One page of the caller's workflows, filtered, with their apps."""
    async with db.reading() as session:
        found = await records.list_workflows(
            scope, filters, page=page, limit=limit, session=session
        )
        apps = await records.apps_by_id({w.app_id for w in found.items}, session=session)
    return WorkflowPage(found, apps)


async def list_versions(
    db: Database, scope: Scope, workflow_id: str, *, page: int, limit: int
) -> tuple[Workflow, Page[WorkflowVersion]]:
    """The workflow and one page of its published versions, newest first."""
    async with db.reading() as session:
        workflow = (await records.locate_workflow(scope, workflow_id, session=session)).workflow
        found = await versions.list_versions(
            scope, workflow.id, page=page, limit=limit, session=session
        )
    return workflow, found


async def get_workflow(db: Database, scope: Scope, workflow_id: str) -> WorkflowGraph:
    """One workflow with its live graph."""
    async with db.reading() as session:
        workflow = (await records.locate_workflow(scope, workflow_id, session=session)).workflow
        return await _with_graph(scope, workflow, session=session)


async def rename_workflow(
    db: Database, scope: Scope, workflow_id: str, *, name: str | None, description: str | None
) -> WorkflowGraph:
    """Change a workflow's name or description; the workflow with its live graph."""
    async with db.transaction() as session:
        workflow = await records.rename_workflow(
            scope, workflow_id, name=name, description=description, session=session
        )
        return await _with_graph(scope, workflow, session=session)


async def delete_workflow(db: Database, scope: Scope, workflow_id: str) -> int:
    """Delete a workflow; how many triggers were deregistered."""
    async with db.transaction() as session:
        return await records.delete_workflow(scope, workflow_id, session=session)


async def open_draft(
    db: Database, scope: Scope, workflow_id: str
) -> tuple[Workflow, WorkflowVersion]:
    """The workflow's draft, created from the live version on first call."""
    async with db.transaction() as session:
        return await versions.open_draft(scope, workflow_id, session=session)


async def save_draft(
    db: Database,
    scope: Scope,
    workflow_id: str,
    *,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]] | None,
    settings: dict[str, Any] | None,
    revision: int | None,
    notes: list[dict[str, Any]] | None = None,
    pinned: dict[str, Any] | None = None,
) -> tuple[Workflow, WorkflowVersion]:
    """Replace the draft's graph, and notes and pins when given (409 when `revision` is stale)."""
    async with db.transaction() as session:
        return await versions.save_draft(
            scope,
            workflow_id,
            nodes=nodes,
            edges=edges,
            settings=settings,
            revision=revision,
            notes=notes,
            pinned=pinned,
            session=session,
        )


async def draft_problems(
    db: Database,
    scope: OrgScope,
    workflow: Workflow,
    draft: WorkflowVersion,
    *,
    catalog_problems: versions.CatalogProblems,
) -> list[dict[str, Any]]:
    """What publishing the draft would refuse (the list publish checks), in a read transaction."""
    async with db.reading() as session:
        return await versions.draft_problems(
            scope, workflow, draft, catalog_problems=catalog_problems, session=session
        )


async def discard_draft(db: Database, scope: Scope, workflow_id: str) -> WorkflowGraph:
    """Drop the draft; the workflow with its live graph."""
    async with db.transaction() as session:
        workflow = await versions.discard_draft(scope, workflow_id, session=session)
        return await _with_graph(scope, workflow, session=session)


async def set_published(
    db: Database,
    scope: Scope,
    workflow_id: str,
    published: bool,
    *,
    catalog_problems: versions.CatalogProblems,
) -> Workflow:
    """Publish the draft as the next version, or unpublish the live one. `catalog_problems`
    checks the graph against the app catalog (apps.checks.catalog_problems)."""
    async with db.transaction() as session:
        return await versions.set_published(
            scope, workflow_id, published, catalog_problems=catalog_problems, session=session
        )


async def restore_version(
    db: Database, scope: Scope, workflow_id: str, number: int
) -> tuple[Workflow, WorkflowVersion]:
    """Copy published version `number` into the draft."""
    async with db.transaction() as session:
        return await versions.restore_version(scope, workflow_id, number, session=session)


async def version_content(
    db: Database, scope: Scope, workflow_id: str, number: int
) -> tuple[Workflow, WorkflowVersion]:
    """One published version of the caller's workflow, or 404."""
    async with db.reading() as session:
        return await versions.version_content(scope, workflow_id, number, session=session)


async def trigger_nodes(db: Database, scope: Scope, workflow_id: str) -> list[dict[str, Any]]:
    """The nodes whose start trigger a caller feeds: the live version's, else the draft's.

    A read: a workflow without a draft gets none (the nodes a new draft would hold answer).
    """
    async with db.reading() as session:
        workflow = (await records.locate_workflow(scope, workflow_id, session=session)).workflow
        live = await versions.live_version(scope, workflow, session=session)
        if live is not None:
            return live.nodes
        return await versions.draft_or_new_nodes(scope, workflow, session=session)


async def export_workflow(db: Database, scope: Scope, workflow_id: str) -> dict[str, Any]:
    """The caller's workflow as a file (workflows.files), in a read transaction."""
    async with db.reading() as session:
        return await transfer.export_workflow(scope, workflow_id, session=session)


async def import_workflow(
    db: Database,
    scope: Scope,
    raw: Any,
    *,
    publish: bool,
    resolve_app: ResolveApp,
    catalog_problems: versions.CatalogProblems,
) -> tuple[Workflow, WorkflowVersion | None]:
    """A new workflow from a file: its draft, or (publish) None once version 1 is live."""
    async with db.transaction() as session:
        return await transfer.import_workflow(
            scope,
            raw,
            publish=publish,
            resolve_app=resolve_app,
            catalog_problems=catalog_problems,
            session=session,
        )


@dataclass(frozen=True)
class LiveWebhook:
    """The live workflow behind an inbound webhook URL, its owner, and whether callers wait."""

    scope: Scope
    workflow: Workflow
    sync: bool


async def live_webhook(db: Database, secret: str) -> LiveWebhook:
    """The live webhook-triggered workflow behind a secret URL, or 404 `WEBHOOK_NOT_FOUND`.

    Remembered for a moment (workflows.live_cache): a busy webhook is not looked up per call.
    """
    return await LIVE_STARTS.get_or_load(secret, lambda: _find_live_webhook(db, secret))


async def _find_live_webhook(db: Database, secret: str) -> LiveWebhook:
    async with db.reading() as session:
        row = (
            await session.execute(
                select(Workflow, LinkedAccount)
                .join(LinkedAccount, LinkedAccount.id == Workflow.linked_account_pk)
                .where(Workflow.webhook_secret == secret)
            )
        ).first()
        if row is None or not row[0].published or row[0].trigger != "webhook":
            raise NotFound("No live webhook at this address", error_code="WEBHOOK_NOT_FOUND")
        workflow, scope = row[0], account_scope(row[1])
        live = await versions.live_version(scope, workflow, session=session)
    sync = bool(start_config(live.nodes if live else []).get("sync"))
    return LiveWebhook(scope, workflow, sync)
