"""The graph interpreter: runs one claimed execution from its committed steps to the end.

Resuming is replay: the walk starts at the start node every time and reuses each committed
step's output instead of running it again, so completed steps never repeat and only the step
that was in flight runs again. Steps without outside effects are buffered and committed with
the next step that has them (or with the end of the run): recomputing them changes nothing.

Each step asks its node's kind (weft.nodes.KINDS): an ordinary kind's `run()` runs here under
its timeout, retries and `on_error` (`_attempts`); a kind that steers the run (start, loop,
delay, sub-workflow, respond, end) goes to its control step
(engine.interpreter.control_flow.CONTROL_STEPS, by the kind's role), which acts on the run through
`RunWalkOf` (engine.interpreter.run_state).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime
from typing import Any

from weft.apps.gateway import AppGateway
from weft.clock import now
from weft.engine.interpreter.context import caller_of, code_scope_of, expression_scope, node_context
from weft.engine.interpreter.control_flow import (
    CONTROL_STEPS,
    DONE,
    SKIPPED,
    ControlStep,
    EndRun,
    ParkRun,
    RunFailed,
    StepAt,
)
from weft.engine.interpreter.outbound import outbound_for
from weft.engine.interpreter.run_state import RunState, RunWalkOf
from weft.engine.interpreter.safe_mode import load_test_mode, stand_in
from weft.engine.runs import lifecycle, queue, states
from weft.engine.starts.direct import UnsavedRun
from weft.engine.workers.answers import RunAnswer
from weft.engine.workers.services import Services
from weft.engine.writes.commits import GroupCommit
from weft.expressions.evaluator import Limits
from weft.expressions.offload import hard_limit_s
from weft.nodes import ERROR_HANDLE, KINDS, NodeKind
from weft.nodes.runtime import NodeContext, NodeFailure, NodeResult
from weft.observability.logs import execution_id_var
from weft.redaction import redact_fields
from weft.store.db import is_database_unavailable, log_database_failure
from weft.workflows.graph import NodeIn

log = logging.getLogger("weft.runner")


class Runner:
    """Runs claimed executions for one worker (`owner`)."""

    def __init__(self, services: Services, owner: str, leases: queue.LeaseDeadlines) -> None:
        self.services = services
        self.owner = owner
        self.leases = leases
        self.commits = GroupCommit(services.writer)
        settings = services.settings
        self.lease_s = settings.lease_s
        self.limits = Limits(
            settings.expression_timeout_ms,
            settings.expression_max_depth,
            settings.expression_native,
        )
        self.render_limit_s = hard_limit_s(self.limits)
        # The control-step table by type name (one lookup per step): kinds that steer the run.
        self.control: dict[str, ControlStep] = {
            name: CONTROL_STEPS[kind.role]
            for name, kind in KINDS.items()
            if kind.role in CONTROL_STEPS
        }

    async def run(self, claimed: queue.Claimed, unsaved: UnsavedRun | None = None) -> None:
        """Run to the end, a park (delay) or a failure; never raises (the worker stays up).

        `unsaved`: a directly started run (engine.starts.direct), whose row is not written yet."""
        execution_id_var.set(claimed.id)  # this task's log lines name the run
        log.info(
            "run claimed",
            extra={"workflow_id": claimed.workflow_id, "attempt": claimed.attempt},
        )
        state = RunState(claimed=claimed, plan=None, done={}, unsaved=unsaved)  # type: ignore[arg-type]
        try:
            await self._run(state)
        except queue.LeaseLost:
            log.info("lease lost on %s; stopping", claimed.id)
        except asyncio.CancelledError:
            raise
        except Exception as failure:
            if is_database_unavailable(failure):
                # Not the run's fault: marking it errored (on a connection that works again)
                # would lose it. Its lease lapses and a worker resumes it from its last
                # committed step once the database answers.
                log_database_failure(log, f"execution {claimed.id} paused", failure)
                return
            log.exception("execution %s errored", claimed.id)
            error = {"message": "Weft could not carry on this run (internal error)"}
            try:
                await self._finish(state, states.ERRORED, [], error=error)
            except queue.LeaseLost:
                pass
            except Exception as again:  # the run stays claimed; its lease lapses, it resumes
                log_database_failure(log, f"marking {claimed.id} errored failed", again)
        finally:
            state.row_written()  # never leave a waiter on a row that no commit will write
            self.leases.forget(claimed.id, claimed.attempt)
            self.services.wakeups.run_changed(claimed.id)

    async def _run(self, state: RunState) -> None:
        claimed = state.claimed
        state.plan = await self.services.plan_for(claimed)
        state.walk = RunWalkOf(self, state)
        if claimed.attempt > 1:  # a resumed run: reuse what was committed
            committed = await queue.load_steps(self.services.db, claimed.id)
            for step in committed:
                state.done[(step.node_id, step.iteration)] = step
            state.usage.add(state.plan, committed)
        state.apps = AppGateway(
            self.services,
            claimed.org_id,
            claimed.environment,
            claimed.linked_account_pk,
            claimed.workflow_id,
        )
        plan = state.plan
        limits = await self.services.quotas.applicable(
            self.services.db, claimed.org_id, claimed.environment, claimed.linked_account_pk
        )
        state.step_limit = limits.steps_per_run()
        state.outbound = await outbound_for(self.services, claimed.org_id)
        if claimed.is_test:
            state.test_mode = await load_test_mode(self.services.db, claimed.id)
        # The limit bounds each stretch of running, not time spent parked in delays.
        limit = self.services.settings.execution_timeout_s
        try:
            async with asyncio.timeout(limit) as state.time_limit:
                output = await self._walk(state, plan.main_order, "", {}, None, {})
        except EndRun as stop:
            status = states.SUCCEEDED if stop.status == "succeeded" else states.FAILED
            error = None if status == states.SUCCEEDED else {"message": "Ended by an end node"}
            await self._finish(
                state,
                status,
                state.pending,
                output=stop.output,
                error=error,
                response=state.response,
            )
        except ParkRun as park:
            try:
                await lifecycle.park_run(
                    self.services,
                    self.commits,
                    claimed,
                    owner=self.owner,
                    steps=state.pending,
                    wake_at=park.wake_at,
                    response=state.response,
                    child_id=park.child_id,
                    insert=await state.take_row(),
                )
            finally:
                state.row_written()
            log.info("run parked", extra={"wake_at": park.wake_at})
        except RunFailed as failed:
            await self._finish(
                state, states.FAILED, state.pending, error=failed.error, response=state.response
            )
        except TimeoutError:
            error = {"message": f"The execution exceeded its time limit of {limit:g} s"}
            await self._finish(
                state, states.FAILED, state.pending, error=error, response=state.response
            )
        else:
            await self._finish(
                state, states.SUCCEEDED, state.pending, output=output, response=state.response
            )

    async def _finish(
        self, state: RunState, status: str, steps: list[dict[str, Any]], **values: Any
    ) -> None:
        state.usage.add(state.plan, steps)
        try:
            await lifecycle.end_run(
                self.services,
                self.commits,
                state.claimed,
                status,
                owner=self.owner,
                steps=steps,
                insert=await state.take_row(),
                usage=state.usage.row(state.claimed),
                **values,
            )
        finally:
            state.row_written()

    # -- the walk -------------------------------------------------------------------------

    async def _walk(
        self,
        state: RunState,
        order: list[str],
        iteration: str,
        outputs: dict[str, Any],
        loop: dict[str, Any] | None,
        settled: dict[str, tuple[str, str | None]],
    ) -> Any:
        """Run `order` (topological) once; returns the last output produced."""
        plan = state.plan
        last: Any = None
        for node_id in order:
            node = plan.nodes[node_id]
            fired = node_id == plan.start_id or any(
                settled.get(edge.source, (SKIPPED, None)) == (DONE, edge.sourceHandle)
                for edge in plan.incoming[node_id]
            )
            if not fired:
                settled[node_id] = (SKIPPED, None)
                continue
            output, branch = await self._step(state, node, iteration, outputs, loop)
            settled[node_id] = (DONE, branch)
            outputs[plan.slugs[node_id]] = output
            last = output
        return last

    async def _step(
        self,
        state: RunState,
        node: NodeIn,
        iteration: str,
        outputs: dict[str, Any],
        loop: dict[str, Any] | None,
    ) -> tuple[Any, str | None]:
        prior = state.done.get((node.id, iteration))
        control = self.control.get(node.type)
        if prior is not None:
            if control is not None and control.replay is not None:
                control.replay(state.walk, prior)
            return prior.output, prior.branch
        if state.step_limit is not None:
            self._within_step_limit(state, node)
        data = expression_scope(state.claimed.input, outputs, loop, state.claimed.config)
        started = now()
        if state.test_mode is not None:
            stood_in = await self._stand_in(state, node, iteration, data, started)
            if stood_in is not None:
                return stood_in
        kind = KINDS[node.type]
        if control is not None:
            return await control.step(
                state.walk, StepAt(node, kind, iteration, outputs, data, started)
            )
        return await self._attempts(
            state, node, kind, iteration, data, started, kind.effectful, False
        )

    @staticmethod
    def _within_step_limit(state: RunState, node: NodeIn) -> None:
        """Fail the run (RunFailed) rather than run a step past its steps-per-run quota."""
        limit = state.step_limit or 0
        if state.usage.steps + len(state.pending) < limit:
            return
        raise RunFailed(
            {
                "node_id": node.id,
                "node_name": node.name,
                "message": f"The run reached its quota of {limit} steps per run",
                "error_code": "QUOTA_EXCEEDED",
                "quota": "steps_per_run",
                "limit": limit,
            }
        )

    async def _stand_in(
        self, state: RunState, node: NodeIn, iteration: str, data: dict[str, Any], started: datetime
    ) -> tuple[Any, str | None] | None:
        """A test run's pinned output or safe-mode preview for this step (None: run it)."""
        config = state.plan.configs[node.id]
        ctx = self._context(node, data, state)
        try:
            found = await stand_in(state.test_mode, node.id, node.type, config, ctx)
        except NodeFailure as failure:
            return await self._failed(state, node, iteration, started, failure, 1, config)
        if found is None:
            return None
        self._record(
            state,
            node,
            iteration,
            started,
            status=found.status,
            input=found.input,
            output=found.output,
        )
        return found.output, None

    def _context(
        self, node: NodeIn, data: dict[str, Any], state: RunState | None = None
    ) -> NodeContext:
        extras = {"apps": state.apps} if state is not None else None
        claimed = state.claimed if state is not None else None
        return node_context(
            node,
            data,
            self.limits,
            outbound=state.outbound if state and state.outbound else self.services.outbound,
            sandbox=self.services.sandbox,
            caller=caller_of(claimed.org_id, claimed.linked_account_pk) if claimed else "",
            code_scope=code_scope_of(claimed.workflow_id, claimed.version) if claimed else None,
            extras=extras,
        )

    async def _attempts(
        self,
        state: RunState,
        node: NodeIn,
        kind: NodeKind,
        iteration: str,
        data: dict[str, Any],
        started: datetime,
        flush_first: bool,
        answer: bool,
    ) -> tuple[Any, str | None]:
        """Run a node under its timeout and retry policy; apply `on_error` to a final failure.

        `flush_first`: commit what is buffered before the node starts (it has outside effects);
        `answer`: its output is the run's response, committed at once when more steps follow."""
        config = state.plan.configs[node.id]
        run = kind.run
        policy = config.retry
        max_attempts = policy.max_attempts if policy else 1
        timeout_s = config.timeout_s or self.services.settings.node_timeout_s
        ctx = self._context(node, data, state)
        if flush_first and self._unwritten(state):
            # Every step so far (and a direct run's row) is committed before an outside effect.
            await self._flush(state)
        attempt = 0
        while True:
            attempt += 1
            if kind.effectful:  # never start an outside effect on a lapsed lease
                self.leases.check(state.claimed.id, state.claimed.attempt)
            try:
                if kind.one_render and timeout_s >= self.render_limit_s:
                    # The render's own limit fires first: a timer per step would only cost.
                    result: NodeResult = await run(config, ctx)  # type: ignore[misc]
                else:
                    async with asyncio.timeout(timeout_s):
                        result = await run(config, ctx)  # type: ignore[misc]
                break
            except NodeFailure as failure:
                error = failure
            except TimeoutError:
                error = NodeFailure(f"timed out after {timeout_s:g} s", retryable=True)
            if error.retryable and attempt < max_attempts and policy is not None:
                delay = min(policy.max_s, policy.initial_s * 2 ** (attempt - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0) if policy.jitter else delay)
                continue
            return await self._failed(
                state, node, iteration, started, error, attempt, config, ctx.resolved or None
            )
        if answer:
            state.response = result.output
        self._record(
            state,
            node,
            iteration,
            started,
            # Nodes that know their input better (http: the request) say so; others get
            # every field as it resolved.
            input=result.input if result.input is not None else (ctx.resolved or None),
            output=result.output,
            branch=result.branch,
            attempt=attempt,
        )
        # A respond node's answer is committed (and handed to a sync caller) at once, unless
        # nothing follows it: then the run's end carries it, one write later. Other steps with
        # outside effects are committed with whatever commits next: the next such step's start,
        # a park, or the end.
        if answer and state.plan.outgoing[node.id]:
            await self._flush(state)
        return result.output, result.branch

    @staticmethod
    def _unwritten(state: RunState) -> bool:
        return bool(state.pending) or (state.unsaved is not None and not state.unsaved.saved)

    async def _failed(
        self,
        state: RunState,
        node: NodeIn,
        iteration: str,
        started: datetime,
        error: NodeFailure,
        attempt: int,
        config: Any,
        resolved: Any = None,
    ) -> tuple[Any, str | None]:
        details = {"node_id": node.id, "node_name": node.name, **error.to_json()}
        # The fields as they resolved, kept for days in the run's history: never a credential.
        resolved = redact_fields(resolved) if resolved else None
        fails_run = config.on_error == "fail"
        branch = ERROR_HANDLE if config.on_error == "error" else None
        output = None if fails_run else {"error": details}
        self._record(
            state,
            node,
            iteration,
            started,
            status="failed",
            input=resolved,
            output=output,
            error=details,
            branch=branch,
            attempt=attempt,
        )
        if fails_run:
            raise RunFailed(details)
        if KINDS[node.type].effectful:
            await self._flush(state)
        return output, branch

    def _record(
        self, state: RunState, node: NodeIn, iteration: str, started: datetime, **values: Any
    ) -> None:
        values.setdefault("status", "succeeded")
        state.pending.append(
            queue.new_step_row(
                execution_id=state.claimed.id,
                node=node,
                iteration=iteration,
                started_at=started,
                **values,
            )
        )

    async def _flush(self, state: RunState) -> None:
        async with state.flush_lock:
            rows, state.pending = state.pending, []
            since = time.monotonic()
            try:
                await self.commits.write(
                    queue.step_commit(
                        execution_id=state.claimed.id,
                        owner=self.owner,
                        attempt=state.claimed.attempt,
                        steps=rows,
                        lease_s=self.lease_s,
                        response=state.response,
                        insert=await state.take_row(),
                    )
                )
            finally:
                state.row_written()
            state.usage.add(state.plan, rows)
            self.leases.renewed(state.claimed.id, since)  # the commit renewed the lease
        if state.response is not None:  # committed: a sync caller can be answered now
            self.services.answers.publish(
                RunAnswer(state.claimed.id, states.RUNNING, state.response)
            )
        self.services.wakeups.run_changed(state.claimed.id)
