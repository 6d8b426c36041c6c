"""Reading executions and their steps: one run, the history list, the steps of a run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.engine import states
from weft.errors import NotFound
from weft.store.db import Database
from weft.store.pagination import Page, paginate
from weft.store.scope import Scope, scoped_select
from weft.store.tables import Execution, Step, WorkflowVersion

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


async def list_executions(
    scope: Scope,
    *,
    status: str | None,
    workflow_id: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    include_tests: bool,
    page: int,
    limit: int,
    session: AsyncSession,
) -> Page[Execution]:
    """The linked account's executions, newest first, filtered as Refold's list is."""
    stmt = scoped_select(Execution, scope)
    if status and status.upper() != "ALL":
        stmt = stmt.where(Execution.status.in_(STATUS_FILTERS[status.upper()]))
    if workflow_id:
        stmt = stmt.where(Execution.workflow_id == workflow_id)
    if start_date:
        stmt = stmt.where(Execution.created_at >= start_date)
    if end_date:
        stmt = stmt.where(Execution.created_at <= end_date)
    if not include_tests:
        stmt = stmt.where(Execution.is_test.is_(False))
    return await paginate(
        stmt,
        session=session,
        page=page,
        limit=limit,
        order_by=(Execution.created_at.desc(), Execution.id.desc()),
    )


async def steps_of(
    execution_id: str, *, session: AsyncSession, after: str | None = None
) -> list[Step]:
    """An execution's steps in the order they finished (optionally only those after a step id)."""
    stmt = select(Step).where(Step.execution_id == execution_id)
    if after:
        stmt = stmt.where(Step.id > after)
    return list(await session.scalars(stmt.order_by(Step.id)))


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
