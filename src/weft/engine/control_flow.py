"""What the nodes that steer a run do inside it: loop, delay and sub-workflow.

Their configs live with every other node type (weft.nodes); their run-time part needs the walk,
the queue and the database, which nodes never touch, so it lives here, once: the runner's steps
(`ControlFlowSteps`, mixed into `Runner`) and the evaluation a single-node run shares with them
(`loop_items`, `wake_time`). Respond and end are ordinary node modules whose output the runner
reads; the start node is the trigger's payload.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from weft.clock import now, parse_iso
from weft.engine import queue, states, subflows
from weft.engine.plan import LOOP_BODY
from weft.nodes.runtime import NodeContext, NodeFailure

if TYPE_CHECKING:
    from weft.engine.services import Services

DONE, SKIPPED = "done", "skipped"


class EndRun(Exception):
    """An end node stops the run with a status and an output."""

    def __init__(self, status: str, output: Any) -> None:
        self.status, self.output = status, output


class ParkRun(Exception):
    """The run waits: until `wake_at`, or until its sub-workflow run `child_id` ends."""

    def __init__(self, wake_at: datetime, child_id: str | None = None) -> None:
        self.wake_at = wake_at
        self.child_id = child_id


class RunFailed(Exception):
    """A node failed with `on_error: fail`: the run fails with its error."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error


async def loop_items(config: Any, ctx: NodeContext, limit: int) -> list[Any]:
    """The items a loop node runs its body for (a single value is one item, null none)."""
    items = await ctx.evaluate(config.items, "items")
    if items is None:
        items = []
    if not isinstance(items, list):
        items = [items]
    if len(items) > limit:
        raise NodeFailure(f"loop has {len(items)} items; the limit is {limit}")
    return items


async def wake_time(config: Any, ctx: NodeContext, started: datetime) -> datetime:
    """When a delay node that started at `started` lets the run go on."""
    if config.seconds is not None:
        return started + timedelta(seconds=config.seconds)
    until = await ctx.render(config.until, "until")
    try:
        return parse_iso(str(until))
    except ValueError:
        raise NodeFailure(f"until rendered to {until!r}, not an ISO 8601 time") from None


class ControlFlowSteps:
    """The runner's steps for loop, delay and sub-workflow nodes (a mixin of `Runner`)."""

    services: Services
    owner: str

    async def _loop(
        self,
        state: Any,
        node: Any,
        iteration: str,
        outputs: dict[str, Any],
        data: dict[str, Any],
        started: datetime,
    ) -> tuple[Any, str | None]:
        config = state.plan.configs[node.id]
        try:
            limit = self.services.settings.loop_max_items
            items = await loop_items(config, self._context(node, data), limit)
        except NodeFailure as failure:
            return await self._failed(state, node, iteration, started, failure, 1, config)
        order = state.plan.body_order[node.id]
        results: list[Any] = [None] * len(items)

        async def one(index: int, item: Any) -> None:
            path = f"{iteration}/{index}" if iteration else str(index)
            settled = {node.id: (DONE, LOOP_BODY)}
            results[index] = await self._walk(
                state, order, path, dict(outputs), {"item": item, "index": index}, settled
            )

        if config.concurrency == 1 or len(items) <= 1:
            for index, item in enumerate(items):
                await one(index, item)
        else:
            gate = asyncio.Semaphore(config.concurrency)

            async def gated(index: int, item: Any) -> None:
                async with gate:
                    await one(index, item)

            try:
                async with asyncio.TaskGroup() as group:
                    for index, item in enumerate(items):
                        group.create_task(gated(index, item))
            except BaseExceptionGroup as group_error:
                raise _most_important(group_error) from None
        self._record(state, node, iteration, started, input={"items": len(items)}, output=results)
        return results, None

    async def _delay(
        self,
        state: Any,
        node: Any,
        iteration: str,
        data: dict[str, Any],
        started: datetime,
    ) -> tuple[Any, str | None]:
        config = state.plan.configs[node.id]
        ctx = self._context(node, data)
        try:
            wake = await wake_time(config, ctx, started)
        except NodeFailure as failure:
            return await self._failed(state, node, iteration, started, failure, 1, config)
        output = {"waited_until": wake.isoformat()}
        step_input = ctx.resolved or {"seconds": config.seconds}
        self._record(state, node, iteration, started, input=step_input, output=output)
        if wake > now():
            # The step is committed with the park, so the resumed run continues after it.
            raise ParkRun(wake)
        return output, None

    async def _subflow(
        self,
        state: Any,
        node: Any,
        iteration: str,
        data: dict[str, Any],
        started: datetime,
    ) -> tuple[Any, str | None]:
        """Start the child run once (keyed by parent, node and iteration), park until it ends."""
        config = state.plan.configs[node.id]
        if self._unwritten(state):  # the child's start is fenced by this run's written lease
            await self._flush(state)
        try:
            payload = await self._context(node, data).render(config.payload, "payload")
            child = await subflows.start_or_find_child(
                self.services,
                state.claimed,
                node.id,
                iteration,
                config.workflow_id,
                payload,
                owner=self.owner,
            )
        except NodeFailure as failure:
            return await self._failed(state, node, iteration, started, failure, 1, config)
        if child.status == states.SUCCEEDED:
            step_input = {"execution_id": child.id, "payload": payload}
            self._record(state, node, iteration, started, input=step_input, output=child.output)
            return child.output, None
        if child.status in states.TERMINAL:
            message = (child.error or {}).get("message", child.status)
            failure = NodeFailure(
                f"Sub-workflow run {child.id} {child.status}: {message}",
                details={"execution_id": child.id},
            )
            return await self._failed(state, node, iteration, started, failure, 1, config)
        # The child's end wakes this run (lifecycle.WakeWaitingParent); the far wake is a backstop.
        backstop = now() + timedelta(seconds=self.services.settings.execution_timeout_s)
        raise ParkRun(backstop, child_id=child.id)


def _most_important(group: BaseExceptionGroup) -> BaseException:
    flat: list[BaseException] = []

    def collect(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                collect(inner)
        else:
            flat.append(error)

    collect(group)
    for kind in (queue.LeaseLost, RunFailed, ParkRun, EndRun):
        for error in flat:
            if isinstance(error, kind):
                return error
    return flat[0]
