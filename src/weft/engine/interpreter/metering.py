"""What one run used, counted in memory from its step rows and written once, with its end.

No statement per step: the counts ride on the end's fenced write (`FencedWrite.usage`), which
the group commit adds to `usage_daily` in the same transaction (engine.writes). The end lands
once, under the lease, so the usage of a run is counted exactly once, and a run resumed after a
crash counts the steps its earlier claims committed (they are replayed from the database), not
the steps that were lost with them. (The runner checks a run's steps-per-run quota against
these counts.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from weft.clock import now
from weft.engine.interpreter.plan import Plan
from weft.engine.runs.queue import Claimed
from weft.nodes import KINDS


@dataclass
class RunUsage:
    """The steps, app calls and code time of a run's committed (or ending) steps."""

    steps: int = 0
    action_calls: int = 0
    code_ms: int = 0

    def add(self, plan: Plan | None, rows: Iterable[Any]) -> None:
        """Count step rows (dicts about to be written, or Step rows read back); `plan`: the
        run's, for each node's config (None: unknown, an http step then counts no app call)."""
        configs = plan.configs if plan is not None else {}
        for row in rows:
            values = row if isinstance(row, dict) else vars(row)
            self.steps += 1
            kind = KINDS.get(values["node_type"])
            if kind is None or kind.meter is None:
                continue
            calls, code_ms = kind.metered(
                configs.get(values["node_id"]),
                values.get("attempt") or 1,
                values.get("duration_ms") or 0,
            )
            self.action_calls += calls
            self.code_ms += code_ms

    def row(self, claimed: Claimed) -> dict[str, Any]:
        """The run's `usage_daily` increment, on the UTC day it ends."""
        return {
            "org_id": claimed.org_id,
            "environment": claimed.environment,
            "day": now().date().isoformat(),
            "linked_account_pk": claimed.linked_account_pk,
            "workflow_id": claimed.workflow_id,
            "runs": 1,
            "steps": self.steps,
            "action_calls": self.action_calls,
            "code_ms": self.code_ms,
        }
