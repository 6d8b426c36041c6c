"""Runs as the API shows them: each read in its own read transaction, which creates nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from weft.engine.runs import history, lifecycle
from weft.store.db import Database
from weft.store.pagination import Page
from weft.store.scope import Scope
from weft.store.tables import Execution, Step

if TYPE_CHECKING:
    from weft.engine.workers.services import Services


@dataclass(frozen=True)
class RunView:
    """One run, what Refold shows beyond its row, and its steps when asked for."""

    execution: Execution
    facts: history.RunFacts
    steps: list[Step] | None = None


@dataclass(frozen=True)
class RunPage:
    """One page of runs and the facts of each, by execution id."""

    page: Page[Execution]
    facts: dict[str, history.RunFacts]


async def list_runs(
    db: Database, scope: Scope, filters: history.RunFilter, *, page: int, limit: int
) -> RunPage:
    """The linked account's runs, newest first, filtered as Refold's list is."""
    async with db.reading() as session:
        found = await history.list_executions(
            scope, filters, page=page, limit=limit, session=session
        )
        return RunPage(found, await history.run_facts(scope, found.items, session=session))


async def read_run(db: Database, scope: Scope, execution_id: str) -> RunView:
    """One of the caller's runs with every step, or 404."""
    async with db.reading() as session:
        execution = await history.get_execution(scope, execution_id, session=session)
        steps = await history.steps_of(execution.id, session=session)
        facts = await history.run_facts(scope, [execution], session=session)
    return RunView(execution, facts[execution.id], steps)


async def check_run(db: Database, scope: Scope, execution_id: str) -> None:
    """404 unless the run is the caller's."""
    async with db.reading() as session:
        await history.get_execution(scope, execution_id, session=session)


async def run_and_steps_after(
    db: Database, scope: Scope, execution_id: str, after: str | None
) -> tuple[Execution, list[Step]]:
    """The run as it stands and the steps committed after step `after` (all: None)."""
    async with db.reading() as session:
        execution = await history.get_execution(scope, execution_id, session=session)
        steps = await history.steps_of(execution_id, session=session, after=after)
    return execution, steps


async def describe_run(db: Database, scope: Scope, execution: Execution) -> RunView:
    """A run already read, with its facts (no steps)."""
    async with db.reading() as session:
        facts = await history.run_facts(scope, [execution], session=session)
    return RunView(execution, facts[execution.id])


async def cancel_run(services: Services, scope: Scope, execution_id: str) -> RunView:
    """Cancel one of the caller's runs (engine.runs.lifecycle); the cancelled run with its facts."""
    execution = await lifecycle.cancel_run(services, scope, execution_id)
    return await describe_run(services.db, scope, execution)
