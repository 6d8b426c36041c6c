"""Reading executions and their steps: one run, the history list, the steps of a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, distinct, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from weft.engine.runs import states
from weft.engine.runs.run_summary import triggers_of
from weft.errors import NotFound
from weft.store.db import Database
from weft.store.pagination import Page, paginate
from weft.store.scope import OrgScope, PublicScope, Scope, scoped_select
from weft.store.tables import Execution, Step, Workflow, WorkflowVersion
from weft.workflows.records import locate_workflow

# Refold's status filter values, as the statuses they mean.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "COMPLETED": (states.SUCCEEDED,),
    "RUNNING": (states.RUNNING, states.QUEUED, states.WAITING),
    "QUEUED": (states.QUEUED,),
    "WAITING": (states.WAITING,),
    "FAILED": (states.FAILED,),
    "ERRORED": (states.ERRORED,),
    "CANCELLED": (states.CANCELLED,),
}


@dataclass(frozen=True)
class RunFilter:
    """Refold's execution list filters (status as Refold names it), and whether tests show."""

    status: str | None = None
    workflow_id: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    include_tests: bool = False
    trigger_kinds: tuple[str, ...] = ()  # run_summary.KINDS; empty: every kind
    search: str | None = None  # a run id, or text inside the payload (case-insensitive)


async def list_executions(
    scope: Scope, filters: RunFilter, *, page: int, limit: int, session: AsyncSession
) -> Page[Execution]:
    """The linked account's executions, newest first, filtered as Refold's list is."""
    stmt = scoped_select(Execution, scope)
    status = filters.status
    if status and status.upper() != "ALL":
        stmt = stmt.where(Execution.status.in_(STATUS_FILTERS[status.upper()]))
    if filters.workflow_id:
        workflow_id = await _workflow_id(scope, filters.workflow_id, session=session)
        stmt = stmt.where(Execution.workflow_id == workflow_id)
    if filters.start_date:
        stmt = stmt.where(Execution.created_at >= filters.start_date)
    if filters.end_date:
        stmt = stmt.where(Execution.created_at <= filters.end_date)
    # Asking for test runs by kind includes them: the filter alone says what is wanted.
    if not filters.include_tests and "test" not in filters.trigger_kinds:
        stmt = stmt.where(Execution.is_test.is_(False))
    if filters.trigger_kinds:
        stmt = stmt.where(Execution.trigger.in_(triggers_of(list(filters.trigger_kinds))))
    if filters.search and filters.search.strip():
        term = filters.search.strip()
        # The payload's JSON text, searched as stored (a substring, LIKE wildcards escaped).
        # No index serves it: it reads the rows the other filters leave (one workflow's runs
        # in the editor), which is why it is a search box and not a report.
        in_payload = cast(Execution.input, Text).icontains(term, autoescape=True)
        stmt = stmt.where(or_(Execution.id == term.lower(), in_payload))
    return await paginate(
        stmt,
        session=session,
        page=page,
        limit=limit,
        order_by=(Execution.created_at.desc(), Execution.id.desc()),
    )


async def _workflow_id(scope: Scope, workflow_id: str, *, session: AsyncSession) -> str:
    """The workflow an id names (its own, or create's draft id); unknown ids filter to nothing."""
    try:
        return (await locate_workflow(scope, workflow_id, session=session)).workflow.id
    except NotFound:
        return workflow_id


async def steps_of(
    execution_id: str, *, session: AsyncSession, after: str | None = None
) -> list[Step]:
    """An execution's steps in the order they finished (optionally only those after a step id)."""
    stmt = select(Step).where(Step.execution_id == execution_id)
    if after:
        stmt = stmt.where(Step.id > after)
    return list(await session.scalars(stmt.order_by(Step.id)))


@dataclass(frozen=True)
class RunFacts:
    """What Refold shows about a run beyond its own row: the workflow's name and progress."""

    name: str | None
    completion_percentage: int


async def _workflow_names(
    scope: OrgScope, workflow_ids: set[str], *, session: AsyncSession
) -> dict[str, str]:
    statement = (
        scoped_select(Workflow, scope)
        .with_only_columns(Workflow.id, Workflow.name)
        .where(Workflow.id.in_(workflow_ids))
    )
    return {workflow_id: name for workflow_id, name in await session.execute(statement)}


async def run_facts(
    scope: Scope, executions: list[Execution], *, session: AsyncSession
) -> dict[str, RunFacts]:
    """Workflow name and completion percentage of each run of a page, in three queries."""
    if not executions:
        return {}
    workflow_ids = {e.workflow_id for e in executions}
    names = await _workflow_names(scope, workflow_ids, session=session)
    if public := workflow_ids - names.keys():  # runs of the org's public workflows
        org = PublicScope(scope.org_id, scope.environment)
        names.update(await _workflow_names(org, public, session=session))
    live = {(e.workflow_id, e.version) for e in executions if not e.is_test and e.version}
    sizes: dict[tuple[str, int | None], int] = {}
    if live:
        rows = await session.execute(
            select(
                WorkflowVersion.workflow_id, WorkflowVersion.version, WorkflowVersion.nodes
            ).where(tuple_(WorkflowVersion.workflow_id, WorkflowVersion.version).in_(live))
        )
        sizes = {(wf, number): len(nodes or []) for wf, number, nodes in rows}
    done = dict(
        (
            await session.execute(
                select(Step.execution_id, func.count(distinct(Step.node_id)))
                .where(Step.execution_id.in_([e.id for e in executions]))
                .where(Step.status == "succeeded")
                .group_by(Step.execution_id)
            )
        ).all()
    )
    facts: dict[str, RunFacts] = {}
    for execution in executions:
        if execution.status == states.SUCCEEDED:
            percentage = 100
        else:
            graph = execution.test_graph or {}
            total = (
                len(graph.get("nodes") or [])
                if execution.is_test
                else sizes.get((execution.workflow_id, execution.version), 0)
            )
            percentage = min(99, 100 * done.get(execution.id, 0) // total) if total else 0
        facts[execution.id] = RunFacts(names.get(execution.workflow_id), percentage)
    return facts


async def get_execution(scope: Scope, execution_id: str, *, session: AsyncSession) -> Execution:
    """One of the caller's executions, or 404."""
    execution = await session.scalar(
        scoped_select(Execution, scope).where(Execution.id == execution_id)
    )
    if execution is None:
        raise NotFound(f"Execution {execution_id} not found", error_code="EXECUTION_NOT_FOUND")
    return execution


Graph = tuple[list[dict[str, Any]], list[dict[str, Any]]]


async def test_graph_of(db: Database, execution_id: str) -> Graph:
    """The draft graph (nodes, edges) a test run was started with."""
    async with db.reading() as session:
        graph = await session.scalar(
            select(Execution.test_graph).where(Execution.id == execution_id)
        )
    return graph["nodes"], graph["edges"]


async def version_graph_of(db: Database, workflow_id: str, version: int) -> Graph | None:
    """The (nodes, edges) of one published version, or None if there is no such version."""
    async with db.reading() as session:
        row = await session.scalar(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version
            )
        )
    return None if row is None else (row.nodes, row.edges)
