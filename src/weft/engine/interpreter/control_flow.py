"""The interpreter's part of the node kinds that steer a run: start, loop, delay, sub-workflow,
respond and end, one step function each, in `CONTROL_STEPS` keyed by the kind's `Role`.

Their configs and traits live with every other node type (weft.nodes, `KIND` of each module);
their run-time part needs the walk, the queue and the database, which nodes never touch, so it
lives here. A step function gets the run's `RunWalk` (engine.interpreter.runner implements it: what
a step may do inside its run) and the step's node, iteration path, outputs so far, expression data
and start time; it returns (output, branch) or raises `EndRun`, `ParkRun` or `RunFailed`.
`loop_items` and `wake_time` are shared with single-node runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from weft.clock import now, parse_iso
from weft.engine.interpreter.plan import Plan
from weft.engine.runs import queue, states
from weft.engine.starts import subflows
from weft.nodes import BODY_HANDLE, NodeKind, Role
from weft.nodes.runtime import NodeContext, NodeFailure
from weft.settings import Settings
from weft.workflows.graph import NodeIn

if TYPE_CHECKING:
    from weft.engine.workers.services import Services

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


Outcome = tuple[Any, str | None]  # a step's output and the branch it leaves by


@dataclass(frozen=True, slots=True)
class StepAt:
    """One step of a run as a control step sees it: the node and its kind, where in the run
    (iteration path), the outputs so far, the expression data and when it started."""

    node: NodeIn
    kind: NodeKind
    iteration: str
    outputs: dict[str, Any]
    data: dict[str, Any]
    started: datetime


class RunWalk(Protocol):
    """What a control step may do inside the run it belongs to (one per run,
    engine.interpreter.runner)."""

    claimed: queue.Claimed  # the run: id, input, org, lease attempt
    plan: Plan
    settings: Settings
    services: Services
    owner: str
    response: Any  # the answer a synchronous caller receives, once a respond step gave it

    async def walk(
        self,
        order: list[str],
        iteration: str,
        outputs: dict[str, Any],
        loop: dict[str, Any] | None,
        settled: dict[str, tuple[str, str | None]],
    ) -> Any:
        """Run `order` once (a loop body); returns the last output produced."""

    def context(self, node: NodeIn, data: dict[str, Any]) -> NodeContext:
        """An expression context for `node` over `data`."""

    def record(self, at: StepAt, **values: Any) -> None:
        """Buffer the step's row; it is committed with the next commit."""

    async def attempts(self, at: StepAt, *, flush_first: bool, answer: bool) -> Outcome:
        """Run the node's `run()` under its timeout, retries and `on_error`, and record it."""

    async def failed(self, at: StepAt, failure: NodeFailure) -> Outcome:
        """Apply `on_error` to a failure on the first attempt (raises RunFailed for `fail`)."""

    async def flush_unwritten(self) -> None:
        """Commit what is buffered (and a direct run's row) before something that needs it."""

    def extend_limit(self, seconds: float) -> None:
        """Move the run's time limit `seconds` later (time spent waiting, not running)."""


Step = Callable[[RunWalk, StepAt], Awaitable[Outcome]]
Replay = Callable[[RunWalk, Any], None]


@dataclass(frozen=True, slots=True)
class ControlStep:
    """The interpreter's handling of one role: its step, and what replaying its row restores."""

    step: Step
    replay: Replay | None = None


async def start_step(
    walk: RunWalk,
    at: StepAt,
) -> Outcome:
    """The trigger: its output is the run's input.

    Its row keeps no input of its own: the trigger has nothing upstream, and a payload stored
    a third time (the run's row has it too) cost PostgreSQL ~0.2 ms of jsonb parsing per 6 KB.
    Readers show the output as its input (api.executions.StepOut)."""
    trigger = walk.claimed.input
    walk.record(at, output=trigger)
    return trigger, None


async def loop_step(
    walk: RunWalk,
    at: StepAt,
) -> Outcome:
    """Walk the body once per item (`concurrency` at once); output: each item's last output."""
    node, iteration = at.node, at.iteration
    config = walk.plan.configs[node.id]
    try:
        items = await loop_items(config, walk.context(node, at.data), walk.settings.loop_max_items)
    except NodeFailure as failure:
        return await walk.failed(at, failure)
    order = walk.plan.body_order[node.id]
    results: list[Any] = [None] * len(items)

    async def one(index: int, item: Any) -> None:
        path = f"{iteration}/{index}" if iteration else str(index)
        settled = {node.id: (DONE, BODY_HANDLE)}
        results[index] = await walk.walk(
            order, path, dict(at.outputs), {"item": item, "index": index}, settled
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
    walk.record(at, input={"items": len(items)}, output=results)
    return results, None


async def delay_step(
    walk: RunWalk,
    at: StepAt,
) -> Outcome:
    """Park the run until the wake time (the step is committed with the park)."""
    config = walk.plan.configs[at.node.id]
    ctx = walk.context(at.node, at.data)
    try:
        wake = await wake_time(config, ctx, at.started)
    except NodeFailure as failure:
        return await walk.failed(at, failure)
    output = {"waited_until": wake.isoformat()}
    step_input = ctx.resolved or {"seconds": config.seconds}
    walk.record(at, input=step_input, output=output)
    if wake > now():
        # The step is committed with the park, so the resumed run continues after it.
        raise ParkRun(wake)
    return output, None


async def subflow_step(
    walk: RunWalk,
    at: StepAt,
) -> Outcome:
    """Start the child run once (keyed by parent, node and iteration), park until it ends."""
    config = walk.plan.configs[at.node.id]
    await walk.flush_unwritten()  # the child's start is fenced by this run's written lease
    try:
        payload = await walk.context(at.node, at.data).render(config.payload, "payload")
        child = await subflows.start_or_find_child(
            walk.services,
            walk.claimed,
            at.node.id,
            at.iteration,
            config.workflow_id,
            payload,
            owner=walk.owner,
        )
    except NodeFailure as failure:
        return await walk.failed(at, failure)
    ended: Any = child.execution
    if child.task is not None:  # run here: wait for its end in the process, not parked
        waited_from = asyncio.get_running_loop().time()
        ended = await subflows.ended_here(walk.services, child) or ended
        # Like time parked, time spent waiting on a child does not count against the limit.
        walk.extend_limit(asyncio.get_running_loop().time() - waited_from)
    if ended.status == states.SUCCEEDED:
        step_input = {"execution_id": ended.id, "payload": payload}
        walk.record(at, input=step_input, output=ended.output)
        return ended.output, None
    if ended.status in states.TERMINAL:
        message = (ended.error or {}).get("message", ended.status)
        failure = NodeFailure(
            f"Sub-workflow run {ended.id} {ended.status}: {message}",
            details={"execution_id": ended.id},
        )
        return await walk.failed(at, failure)
    # The child's end wakes this run (lifecycle.WakeWaitingParent); the far wake is a backstop.
    backstop = now() + timedelta(seconds=walk.settings.execution_timeout_s)
    raise ParkRun(backstop, child_id=ended.id)


async def respond_step(
    walk: RunWalk,
    at: StepAt,
) -> Outcome:
    """Its output becomes the run's response, committed (and handed to a sync caller) at once
    unless nothing follows it; nothing is flushed before it: its own commit carries that."""
    return await walk.attempts(at, flush_first=False, answer=True)


def respond_replayed(walk: RunWalk, prior: Any) -> None:
    """A resumed run answers with the response its committed respond step gave."""
    if walk.response is None:
        walk.response = prior.output


async def end_step(
    walk: RunWalk,
    at: StepAt,
) -> Outcome:
    """Stop the run with the rendered status and output."""
    ended, branch = await walk.attempts(at, flush_first=at.kind.effectful, answer=False)
    if "error" in ended:  # rendering the output failed and on_error let the run go on
        return ended, branch
    raise EndRun(ended["status"], ended["output"])


def end_replayed(walk: RunWalk, prior: Any) -> None:
    """A resumed run that had reached its end node ends again, as committed."""
    raise EndRun(prior.output.get("status", "succeeded"), prior.output.get("output"))


# The interpreter's table: every role but ORDINARY (`run()` under retries, on the hot path).
CONTROL_STEPS: dict[Role, ControlStep] = {
    Role.START: ControlStep(start_step),
    Role.LOOP: ControlStep(loop_step),
    Role.DELAY: ControlStep(delay_step),
    Role.SUBFLOW: ControlStep(subflow_step),
    Role.RESPOND: ControlStep(respond_step, respond_replayed),
    Role.END: ControlStep(end_step, end_replayed),
}


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
