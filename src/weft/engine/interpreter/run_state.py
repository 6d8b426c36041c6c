"""One run's state while the interpreter walks it, and what control steps may do in it.

`RunState` is what the runner keeps per run (buffered steps, the response, a direct run's unsaved
row); `RunWalkOf` is that run's `RunWalk` (engine.interpreter.control_flow): the control steps act
on the run only through it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weft.apps.gateway import AppGateway
from weft.engine.interpreter.control_flow import Outcome, StepAt
from weft.engine.interpreter.metering import RunUsage
from weft.engine.interpreter.plan import Plan
from weft.engine.interpreter.safe_mode import EditorTestOptions
from weft.engine.runs import queue
from weft.engine.starts.direct import UnsavedRun
from weft.nodes.runtime import NodeContext, NodeFailure
from weft.workflows.graph import NodeIn

if TYPE_CHECKING:
    from weft.engine.interpreter.runner import Runner


@dataclass
class RunState:
    claimed: queue.Claimed
    plan: Plan
    done: dict[tuple[str, str], Any]
    pending: list[dict[str, Any]] = field(default_factory=list)
    response: Any = None
    flush_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    apps: AppGateway | None = None
    test_mode: EditorTestOptions | None = None  # test runs only: pinned and safe-mode steps
    outbound: Any = None  # the org's outbound client (its own allow-list entries)
    unsaved: UnsavedRun | None = None  # a direct run whose row its first commit writes
    walk: RunWalkOf = None  # type: ignore[assignment]  # set with the plan: for control steps
    usage: RunUsage = field(default_factory=RunUsage)  # of its committed steps (metering)
    step_limit: int | None = None  # the steps-per-run quota of its org or account
    time_limit: asyncio.Timeout | None = None  # this stretch of running's (the runner's)

    async def take_row(self) -> dict[str, Any] | None:
        """The row a direct run's commit must insert (once), else None; when another commit
        took it (UnsavedRun.persist), waits until that one is over: a fenced update that overtook
        the insert would find no row."""
        if self.unsaved is None:
            return None
        row = self.unsaved.take()
        if row is None:
            await asyncio.shield(self.unsaved.written)
        return row

    def row_written(self) -> None:
        """The commit that carried the row is over."""
        if self.unsaved is not None:
            self.unsaved.settle()


class RunWalkOf:
    """The `RunWalk` of one run: what the control steps (engine.interpreter.control_flow) may do in
    it."""

    __slots__ = ("_runner", "_state", "claimed", "owner", "plan", "services", "settings")

    def __init__(self, runner: Runner, state: RunState) -> None:
        self._runner, self._state = runner, state
        self.claimed, self.plan = state.claimed, state.plan
        self.services, self.owner = runner.services, runner.owner
        self.settings = runner.services.settings

    @property
    def response(self) -> Any:
        """The answer a synchronous caller receives, once a respond step gave it."""
        return self._state.response

    @response.setter
    def response(self, value: Any) -> None:
        self._state.response = value

    async def walk(
        self,
        order: list[str],
        iteration: str,
        outputs: dict[str, Any],
        loop: dict[str, Any] | None,
        settled: dict[str, tuple[str, str | None]],
    ) -> Any:
        """Run `order` once (a loop body); returns the last output produced."""
        return await self._runner._walk(self._state, order, iteration, outputs, loop, settled)

    def context(self, node: NodeIn, data: dict[str, Any]) -> NodeContext:
        """An expression context for `node` over `data`."""
        return self._runner._context(node, data)

    def record(self, at: StepAt, **values: Any) -> None:
        """Buffer the step's row; it is committed with the next commit."""
        self._runner._record(self._state, at.node, at.iteration, at.started, **values)

    async def attempts(self, at: StepAt, *, flush_first: bool, answer: bool) -> Outcome:
        """Run the node's `run()` under its timeout, retries and `on_error`, and record it."""
        return await self._runner._attempts(
            self._state, at.node, at.kind, at.iteration, at.data, at.started, flush_first, answer
        )

    async def failed(self, at: StepAt, failure: NodeFailure) -> Outcome:
        """Apply `on_error` to a failure on the first attempt (raises RunFailed for `fail`)."""
        config = self.plan.configs[at.node.id]
        return await self._runner._failed(
            self._state, at.node, at.iteration, at.started, failure, 1, config
        )

    async def flush_unwritten(self) -> None:
        """Commit what is buffered (and a direct run's row) before something that needs it."""
        if self._runner._unwritten(self._state):
            await self._runner._flush(self._state)

    def extend_limit(self, seconds: float) -> None:
        """Move the run's time limit `seconds` later (time spent waiting, not running)."""
        limit = self._state.time_limit
        deadline = limit.when() if limit is not None else None
        if limit is not None and deadline is not None:
            limit.reschedule(deadline + seconds)
