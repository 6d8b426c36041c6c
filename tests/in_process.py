"""Runs of a graph in process, straight through the interpreter (`Runner`): no app, no HTTP, no
worker loop. One database (migrated already), one org, linked account and workflow; a graph
becomes a version whose plan is cached as a worker would cache it, a run of it is queued as a
row, claimed with the queue's own claim statement and run to its end or park.

Used by tests/engine/test_interpreter.py and bench/loop_cost.py (which puts tests/ on its path,
as bench/multihost.py does), so the test of the interpreter's semantics and the measure of its
cost run the same set-up.
"""

from __future__ import annotations

import time
from typing import Any

from weft import clock
from weft.engine.interpreter.plan import build_plan
from weft.engine.interpreter.runner import Runner
from weft.engine.runs import states
from weft.engine.runs.lifecycle import claim_due_executions
from weft.engine.runs.queue import Claimed, LeaseDeadlines
from weft.engine.workers.services import Services
from weft.ids import new_id
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import App, Execution, LinkedAccount, Org, Workflow


class InProcessRuns:
    """One database, one org/account/workflow and one runner, claiming as worker `owner`."""

    def __init__(self, db: Database, settings: Settings, owner: str) -> None:
        self.db = db
        self.owner = owner
        self.services = Services(db=db, settings=settings, outbound=None, sandbox=None)
        self.leases = LeaseDeadlines(settings.lease_s)
        self.runner = Runner(self.services, owner, self.leases)
        self.org_id, self.account_pk, self.workflow_id = new_id(), new_id(), new_id()
        self.versions = 0

    async def seed(self) -> None:
        """Write the org, its linked account, default app and the workflow the runs belong to."""
        moment = clock.now()
        stamps = {"created_at": moment, "updated_at": moment}
        app_id = new_id()
        async with self.db.transaction() as session:
            session.add(Org(id=self.org_id, name="org", settings={}, **stamps))
            await session.flush()
            session.add(
                LinkedAccount(
                    id=self.account_pk,
                    org_id=self.org_id,
                    environment="test",
                    account_id="acct",
                    **stamps,
                )
            )
            session.add(
                App(
                    id=app_id,
                    org_id=self.org_id,
                    slug="default",
                    name="Default",
                    auth_type="none",
                    definition={},
                    **stamps,
                )
            )
            await session.flush()
            session.add(
                Workflow(
                    id=self.workflow_id,
                    org_id=self.org_id,
                    environment="test",
                    linked_account_pk=self.account_pk,
                    app_id=app_id,
                    name="flow",
                    **stamps,
                )
            )

    def add_version(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> int:
        """A new version of the workflow with this graph, its plan cached; its number."""
        self.versions += 1
        self.services.plans.put((self.workflow_id, self.versions), build_plan(nodes, edges))
        return self.versions

    async def queue(self, version: int, payload: Any) -> str:
        """Queue a run of `version` started with `payload`; its id."""
        execution_id, moment = new_id(), clock.now()
        async with self.db.transaction() as session:
            session.add(
                Execution(
                    id=execution_id,
                    org_id=self.org_id,
                    environment="test",
                    linked_account_pk=self.account_pk,
                    workflow_id=self.workflow_id,
                    version=version,
                    is_test=False,
                    trigger="manual",
                    input=payload,
                    status=states.QUEUED,
                    attempt=0,
                    due_at=moment,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        return execution_id

    async def claim(self) -> Claimed:
        """Claim the one due run, as a worker does."""
        since = time.monotonic()
        claimed = await claim_due_executions(
            self.db,
            owner=self.owner,
            limit=1,
            lease_s=self.services.settings.lease_s,
            per_account=10,
        )
        assert len(claimed) == 1, claimed
        self.leases.claimed(claimed[0], since)
        return claimed[0]

    async def run_next(self) -> None:
        """Claim the one due run and run it to its end or park."""
        await self.runner.run(await self.claim())
