"""The long-lived things a worker and the trigger API share in one process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from weft.engine.interpreter.outbound import OrgOutbound
from weft.engine.interpreter.plan import Plan, PlanCache, build_plan
from weft.engine.runs import history
from weft.engine.starts.direct import DirectStarts
from weft.engine.workers.answers import Answers
from weft.engine.workers.wakeups import Wakeups
from weft.engine.writes.commits import FencedWriter, writer_for
from weft.net import OutboundClient
from weft.settings import Settings
from weft.store.db import Database
from weft.tenancy.quotas import QuotaBook


class CodePool(Protocol):
    """Where code nodes run (engine.workers.host.LazySandbox: the V8 pool, started on first use)."""

    async def run(
        self,
        source: str,
        input: Any,
        *,
        timeout_ms: int,
        memory_mb: int,
        caller: str = "",
        scope: str | None = None,
    ) -> Any: ...

    async def close(self) -> None: ...


@dataclass
class Services:
    """Database and its writer, settings, outbound client, sandbox, wake-ups, sync answers,
    plan cache."""

    db: Database
    settings: Settings
    outbound: OutboundClient
    sandbox: CodePool
    wakeups: Wakeups = field(default_factory=Wakeups)
    answers: Answers = field(default_factory=Answers)  # sync callers' futures
    plans: PlanCache = field(default_factory=PlanCache)
    org_outbound: OrgOutbound | None = None  # each org's outbound client
    direct: DirectStarts = field(default_factory=DirectStarts)  # this process's workers
    quotas: QuotaBook = field(default_factory=QuotaBook)  # the quotas runs meet, as last read
    # How runs' fenced writes reach this database (engine.writes.commits), chosen once here.
    writer: FencedWriter = field(init=False)

    def __post_init__(self) -> None:
        self.answers.running_here = self.direct.running
        self.writer = writer_for(self.db)

    async def plan_for(self, claimed: Any) -> Plan:
        """The runnable plan of the version (or test draft) an execution is pinned to."""
        if claimed.is_test:
            return build_plan(*await history.test_graph_of(self.db, claimed.id))
        key = (claimed.workflow_id, int(claimed.version))
        plan = self.plans.get(key)
        if plan is None:
            graph = await history.version_graph_of(self.db, claimed.workflow_id, key[1])
            if graph is None:
                raise LookupError(f"version {key} not found")
            plan = build_plan(*graph)
            self.plans.put(key, plan)
        return plan

    async def close(self) -> None:
        """Release the outbound client and the sandbox pool."""
        if self.org_outbound is not None:
            await self.org_outbound.aclose()
        if self.outbound is not None:
            await self.outbound.aclose()
        if self.sandbox is not None:
            await self.sandbox.close()
