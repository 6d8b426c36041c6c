"""The long-lived things a worker and the trigger API share in one process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from weft.engine.answers import Answers
from weft.engine.notify import Notifier
from weft.engine.plan import Plan, PlanCache, build_plan
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import Execution, WorkflowVersion


@dataclass
class Services:
    """Database, settings, outbound client, code sandbox, wake-ups, answers and the plan cache."""

    db: Database
    settings: Settings
    outbound: Any
    sandbox: Any
    notifier: Notifier = field(default_factory=Notifier)
    answers: Answers = field(default_factory=Answers)  # sync callers' futures
    plans: PlanCache = field(default_factory=PlanCache)

    async def plan_for(self, claimed: Any) -> Plan:
        """The runnable plan of the version (or test draft) an execution is pinned to."""
        if claimed.is_test:
            async with self.db.reading() as session:
                graph = await session.scalar(
                    select(Execution.test_graph).where(Execution.id == claimed.id)
                )
            return build_plan(graph["nodes"], graph["edges"])
        key = (claimed.workflow_id, int(claimed.version))
        plan = self.plans.get(key)
        if plan is None:
            async with self.db.reading() as session:
                version = await session.scalar(
                    select(WorkflowVersion).where(
                        WorkflowVersion.workflow_id == claimed.workflow_id,
                        WorkflowVersion.version == claimed.version,
                    )
                )
            if version is None:
                raise LookupError(f"version {key} not found")
            plan = build_plan(version.nodes, version.edges)
            self.plans.put(key, plan)
        return plan

    async def close(self) -> None:
        """Release the outbound client and the sandbox pool."""
        if self.outbound is not None:
            await self.outbound.aclose()
        if self.sandbox is not None:
            await self.sandbox.close()
