"""The interpreter's semantics, driven straight through `Runner` over a temporary SQLite file.

No app, no HTTP, no server: each test copies a database migrated once per session, claims its
run with the queue's own claim statement and hands it to a `Runner`. A `probe` node kind, added
to the registry for the test (a new kind is one record), counts its calls, can fail on demand
and can hold until the test releases it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from graphs import chain, edge, node
from in_process import InProcessRuns
from weft import clock
from weft.engine.interpreter import runner as runner_module
from weft.engine.runs import states
from weft.nodes import KINDS, NodeConfig, NodeKind
from weft.nodes.runtime import NodeContext, NodeFailure, NodeResult
from weft.settings import Settings
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head
from weft.store.tables import Execution, Step

pytestmark = pytest.mark.unit

OWNER = "interpreter-test"
LEASE_S = 30.0
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class ProbeConfig(NodeConfig):
    """A probe: its output (a template), how often to fail first, whether to hold."""

    template_fields: ClassVar[tuple[str, ...]] = ("output",)
    data_optional: ClassVar[bool] = True

    output: Any = None
    failures: int = 0
    retryable: bool = True
    hold: bool = False


class Probes:
    """What the probes of one test did, and the gate held probes wait at."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self.most_in_flight = 0
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.release_at: int | None = None  # let held probes go once this many are in flight


PROBES = Probes()


async def run_probe(config: ProbeConfig, ctx: NodeContext) -> NodeResult:
    """Count the call, fail `failures` times, hold when asked; output the rendered `output`."""
    output = await ctx.render(config.output, "output")
    key = str(output)
    PROBES.calls[key] += 1
    if PROBES.calls[key] <= config.failures:
        raise NodeFailure(f"probe {key} failed", retryable=config.retryable)
    PROBES.in_flight += 1
    PROBES.most_in_flight = max(PROBES.most_in_flight, PROBES.in_flight)
    if PROBES.in_flight == PROBES.release_at:
        PROBES.release.set()
    try:
        if config.hold:
            PROBES.holding.set()
            await PROBES.release.wait()
    finally:
        PROBES.in_flight -= 1
    return NodeResult(output=output)


PROBE = NodeKind(
    type="probe",
    config=ProbeConfig,
    label="Probe",
    category="action",
    description="Test-only: counts its calls.",
    defaults=None,
    run=run_probe,
    effectful=True,
)
# The same, without outside effects: buffered, never flushed before it runs.
QUIET_PROBE = NodeKind(
    type="quiet_probe",
    config=ProbeConfig,
    label="Quiet probe",
    category="logic",
    description="Test-only: counts its calls, touches nothing outside.",
    defaults=None,
    run=run_probe,
)


def probe(node_id: str, output: Any, **data: Any) -> dict[str, Any]:
    """A probe node (its name is "P<id>")."""
    return node(node_id, "probe", f"P{node_id}", output=output, **data)


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interpreter") / "migrated.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


class Harness(InProcessRuns):
    """Runs in process over one database copy: start, claim and run them, read what they wrote."""

    async def start(
        self,
        nodes: list[dict[str, Any]],
        edges: list[dict[str, Any]] | None = None,
        payload: Any = None,
    ) -> str:
        """Queue a run of a new version of the graph (its plan cached as a worker would)."""
        version = self.add_version(nodes, edges if edges is not None else chain(*nodes))
        return await self.queue(version, payload)

    async def run(
        self,
        nodes: list[dict[str, Any]],
        edges: list[dict[str, Any]] | None = None,
        payload: Any = None,
    ) -> Execution:
        """Start, claim and run a run to its end or park; its row."""
        execution_id = await self.start(nodes, edges, payload)
        await self.run_next()
        return await self.execution(execution_id)

    async def execution(self, execution_id: str) -> Execution:
        async with self.db.reading() as session:
            found = await session.get(Execution, execution_id)
        assert found is not None
        return found

    async def steps(self, execution_id: str) -> dict[tuple[str, str], Step]:
        async with self.db.reading() as session:
            rows = await session.scalars(select(Step).where(Step.execution_id == execution_id))
            return {(row.node_id, row.iteration): row for row in rows}


@pytest.fixture
async def harness(
    migrated_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    global PROBES
    PROBES = Probes()
    monkeypatch.setitem(KINDS, PROBE.type, PROBE)
    monkeypatch.setitem(KINDS, QUIET_PROBE.type, QUIET_PROBE)
    path = tmp_path / "weft.db"
    shutil.copy(migrated_file, path)
    url = f"sqlite+aiosqlite:///{path}"
    settings = Settings(database_url=url, data_dir=tmp_path, lease_s=LEASE_S)
    clock.freeze(START)
    db = Database(url)
    try:
        ready = Harness(db, settings, OWNER)
        await ready.seed()
        yield ready
    finally:
        clock.freeze(None)
        await db.dispose()


# -- replay -------------------------------------------------------------------------------


async def test_a_resumed_run_replays_committed_steps_and_runs_only_the_rest(
    harness: Harness,
) -> None:
    nodes = [node("1", "start", "Start"), probe("2", "first"), probe("3", "second", hold=True)]
    execution_id = await harness.start(nodes)
    crashed = asyncio.create_task(harness.runner.run(await harness.claim()))
    await asyncio.wait_for(PROBES.holding.wait(), 30)  # "first" was committed before "second"
    crashed.cancel()  # the worker dies inside "second"
    with pytest.raises(asyncio.CancelledError):
        await crashed
    assert (await harness.execution(execution_id)).status == states.RUNNING

    clock.freeze(START + timedelta(seconds=LEASE_S + 1))  # its lease lapses; a worker claims it
    PROBES.release.set()
    resumed = await harness.claim()
    assert resumed.attempt == 2
    await harness.runner.run(resumed)

    run = await harness.execution(execution_id)
    assert run.status == states.SUCCEEDED
    assert run.output == "second"
    assert PROBES.calls == {"first": 1, "second": 2}  # only the step in flight ran again


# -- retries --------------------------------------------------------------------------------


async def test_a_retryable_failure_is_retried_with_exponential_backoff(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def no_wait(delay: float, *args: Any) -> Any:
        waits.append(delay)
        return await real_sleep(0)

    # Only the runner's backoff waits are cut short (and recorded).
    fast_asyncio = SimpleNamespace(**{**vars(asyncio), "sleep": no_wait})
    monkeypatch.setattr(runner_module, "asyncio", fast_asyncio)
    retry = {"max_attempts": 4, "initial_s": 1.5, "max_s": 4, "jitter": False}
    nodes = [node("1", "start", "Start"), probe("2", "flaky", failures=3, retry=retry)]
    execution_id = (await harness.run(nodes)).id

    run = await harness.execution(execution_id)
    assert run.status == states.SUCCEEDED
    assert waits == [1.5, 3.0, 4.0]  # doubling, capped at max_s
    assert (await harness.steps(execution_id))[("2", "")].attempt == 4


async def test_a_failure_that_is_not_retryable_is_not_retried(harness: Harness) -> None:
    retry = {"max_attempts": 5, "initial_s": 1, "jitter": False}
    nodes = [
        node("1", "start", "Start"),
        probe("2", "broken", failures=1, retryable=False, retry=retry),
    ]
    run = await harness.run(nodes)
    assert run.status == states.FAILED
    assert PROBES.calls["broken"] == 1


# -- on_error -------------------------------------------------------------------------------


async def test_on_error_fail_fails_the_run_with_the_nodes_error(harness: Harness) -> None:
    nodes = [node("1", "start", "Start"), probe("2", "bad", failures=1), probe("3", "after")]
    run = await harness.run(nodes)
    assert run.status == states.FAILED
    assert run.error["node_id"] == "2"
    assert run.error["message"] == "probe bad failed"
    assert "after" not in PROBES.calls
    steps = await harness.steps(run.id)
    assert steps[("2", "")].status == "failed"


async def test_on_error_continue_hands_the_error_to_the_next_step(harness: Harness) -> None:
    nodes = [
        node("1", "start", "Start"),
        probe("2", "bad", failures=1, on_error="continue"),
        probe("3", "{{ nodes.p2.error.message }}"),
    ]
    run = await harness.run(nodes)
    assert run.status == states.SUCCEEDED
    assert run.output == "probe bad failed"


async def test_on_error_error_follows_the_error_branch_only(harness: Harness) -> None:
    nodes = [
        node("1", "start", "Start"),
        probe("2", "bad", failures=1, on_error="error"),
        probe("3", "went on"),
        probe("4", "handled"),
    ]
    edges = [edge("1", "2"), edge("2", "3"), edge("2", "4", "error")]
    run = await harness.run(nodes, edges)
    assert run.status == states.SUCCEEDED
    assert run.output == "handled"
    assert "went on" not in PROBES.calls
    assert (await harness.steps(run.id))[("2", "")].branch == "error"


# -- loop -----------------------------------------------------------------------------------


async def test_a_loop_runs_its_body_once_per_item_and_outputs_each_result(
    harness: Harness,
) -> None:
    nodes = [
        node("1", "start", "Start"),
        node("2", "loop", "Each", items="trigger.items"),
        node("3", "quiet_probe", "Double", output="{{ loop.item * 2 }}"),
        probe("4", "after {{ $count(nodes.each) }}"),
    ]
    edges = [edge("1", "2"), edge("2", "3", "body"), edge("2", "4")]
    run = await harness.run(nodes, edges, payload={"items": [1, 2, 3]})
    assert run.status == states.SUCCEEDED
    assert run.output == "after 3"
    steps = await harness.steps(run.id)
    assert steps[("2", "")].output == [2, 4, 6]
    assert {iteration for node_id, iteration in steps if node_id == "3"} == {"0", "1", "2"}


async def test_a_loop_runs_at_most_its_concurrency_at_once(harness: Harness) -> None:
    PROBES.release_at = 2  # the first items hold until two are in flight together
    nodes = [
        node("1", "start", "Start"),
        node("2", "loop", "Each", items="trigger.items", concurrency=2),
        node("3", "quiet_probe", "Item", output="{{ loop.item }}", hold=True),
    ]
    edges = [edge("1", "2"), edge("2", "3", "body")]
    running = harness.run(nodes, edges, payload={"items": [1, 2, 3, 4, 5]})
    run = await asyncio.wait_for(running, 30)
    assert run.status == states.SUCCEEDED
    assert PROBES.most_in_flight == 2
    assert sorted(PROBES.calls) == ["1", "2", "3", "4", "5"]


async def test_a_loop_inside_a_loop_records_each_pass_under_its_iteration_path(
    harness: Harness,
) -> None:
    nodes = [
        node("1", "start", "Start"),
        node("2", "loop", "Rows", items="trigger.rows"),
        node("3", "loop", "Cells", items="loop.item"),  # the outer pass's item
        node("4", "quiet_probe", "Cell", output="{{ loop.item * 10 }}"),
    ]
    edges = [edge("1", "2"), edge("2", "3", "body"), edge("3", "4", "body")]
    run = await harness.run(nodes, edges, payload={"rows": [[1, 2], [3]]})
    assert run.status == states.SUCCEEDED
    steps = await harness.steps(run.id)
    assert steps[("2", "")].output == [[10, 20], [30]]
    assert {key: row.output for key, row in steps.items() if key[0] in ("3", "4")} == {
        ("3", "0"): [10, 20],
        ("3", "1"): [30],
        ("4", "0/0"): 10,
        ("4", "0/1"): 20,
        ("4", "1/0"): 30,
    }


async def test_a_run_cut_off_mid_loop_resumes_without_repeating_completed_passes(
    harness: Harness,
) -> None:
    # Each pass calls out ("a<i>"); the fourth pass then holds in a second call, and the
    # worker dies there. The resumed run must not call out again for passes 0-3.
    nodes = [
        node("1", "start", "Start"),
        node("2", "loop", "Each", items="trigger.items"),
        probe("3", "a{{ loop.item }}"),
        node("4", "condition", "Fourth", expression="loop.index = 3"),
        probe("5", "held", hold=True),
        node("6", "quiet_probe", "Pass", output="{{ nodes.p3 }} done"),
    ]
    edges = [
        edge("1", "2"),
        edge("2", "3", "body"),
        edge("3", "4"),
        edge("4", "5", "true"),
        edge("4", "6", "false"),
        edge("5", "6"),
    ]
    execution_id = await harness.start(nodes, edges, payload={"items": list(range(6))})
    crashed = asyncio.create_task(harness.runner.run(await harness.claim()))
    await asyncio.wait_for(PROBES.holding.wait(), 30)
    crashed.cancel()  # the worker dies inside pass 3
    with pytest.raises(asyncio.CancelledError):
        await crashed
    committed = await harness.steps(execution_id)
    assert {iteration for node_id, iteration in committed if node_id == "3"} == {"0", "1", "2", "3"}

    clock.freeze(START + timedelta(seconds=LEASE_S + 1))  # its lease lapses; a worker claims it
    PROBES.release.set()
    await harness.runner.run(await harness.claim())

    run = await harness.execution(execution_id)
    assert run.status == states.SUCCEEDED
    assert run.output == [f"a{i} done" for i in range(6)]
    # Completed passes are not run again (their quiet steps neither: they were committed with
    # the next call out); only the call in flight is.
    once = {f"a{i}": 1 for i in range(6)} | {f"a{i} done": 1 for i in range(6)}
    assert PROBES.calls == {**once, "held": 2}
    steps = await harness.steps(execution_id)
    assert [steps[("6", str(i))].output for i in range(6)] == run.output


# -- park -----------------------------------------------------------------------------------


async def test_a_delay_parks_the_run_and_the_resumed_run_goes_on_after_it(
    harness: Harness,
) -> None:
    nodes = [
        node("1", "start", "Start"),
        probe("2", "before"),
        node("3", "delay", "Wait", seconds=60),
        probe("4", "after"),
    ]
    execution_id = (await harness.run(nodes)).id
    parked = await harness.execution(execution_id)
    assert parked.status == states.WAITING
    assert PROBES.calls == {"before": 1}

    clock.freeze(START + timedelta(seconds=61))
    await harness.runner.run(await harness.claim())
    run = await harness.execution(execution_id)
    assert run.status == states.SUCCEEDED
    assert run.output == "after"
    assert PROBES.calls == {"before": 1, "after": 1}
    waited = (await harness.steps(execution_id))[("3", "")].output
    assert waited == {"waited_until": (START + timedelta(seconds=60)).isoformat()}


# -- respond and end ------------------------------------------------------------------------


async def test_a_response_is_committed_before_the_steps_after_it_run(harness: Harness) -> None:
    nodes = [
        node("1", "start", "Start"),
        node("2", "respond", "Answer", status=201, body={"got": "{{ trigger.x }}"}),
        # Nothing after the answer would commit it: no outside effect, a hold.
        node("3", "quiet_probe", "Later", output="later", hold=True),
        node("4", "end", "Done", output="finished"),
    ]
    execution_id = await harness.start(nodes, payload={"x": 7})
    running = asyncio.create_task(harness.runner.run(await harness.claim()))
    await asyncio.wait_for(PROBES.holding.wait(), 30)
    answered = await harness.execution(execution_id)
    assert answered.status == states.RUNNING
    assert answered.response == {"status": 201, "headers": {}, "body": {"got": 7}}

    PROBES.release.set()
    await running
    run = await harness.execution(execution_id)
    assert run.status == states.SUCCEEDED
    assert run.output == "finished"
    assert run.response == answered.response


async def test_an_end_node_stops_the_run_with_its_status_and_output(harness: Harness) -> None:
    nodes = [
        node("1", "start", "Start"),
        node("2", "end", "Stop", status="failed", output={"why": "{{ trigger.reason }}"}),
        probe("3", "never"),
    ]
    run = await harness.run(nodes, payload={"reason": "no stock"})
    assert run.status == states.FAILED
    assert run.output == {"why": "no stock"}
    assert run.error == {"message": "Ended by an end node"}
    assert "never" not in PROBES.calls


async def test_a_resumed_run_keeps_the_response_its_committed_respond_step_gave(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    nodes = [
        node("1", "start", "Start"),
        node("2", "respond", "Answer", body="early"),
        node("3", "delay", "Wait", seconds=60),
        node("4", "end", "Done", output="late"),
    ]
    execution_id = (await harness.run(nodes)).id
    assert (await harness.execution(execution_id)).status == states.WAITING

    clock.freeze(START + timedelta(seconds=61))
    answers: list[Any] = []  # what sync callers waiting on the run are handed
    monkeypatch.setattr(harness.services.answers, "publish", answers.append)
    await harness.runner.run(await harness.claim())
    run = await harness.execution(execution_id)
    answer = {"status": 200, "headers": {}, "body": "early"}
    assert run.status == states.SUCCEEDED
    assert run.output == "late"
    assert run.response == answer
    assert answers[-1].status == states.SUCCEEDED
    assert answers[-1].response == answer


# -- outside effects ------------------------------------------------------------------------


async def test_a_retry_with_outside_effects_never_starts_on_a_lapsed_lease(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stall_past_the_lease(delay: float, *args: Any) -> None:
        clock.freeze(START + timedelta(seconds=LEASE_S + 1))  # nothing renewed the lease since

    fast_asyncio = SimpleNamespace(**{**vars(asyncio), "sleep": stall_past_the_lease})
    monkeypatch.setattr(runner_module, "asyncio", fast_asyncio)
    retry = {"max_attempts": 3, "initial_s": 1, "jitter": False}
    nodes = [node("1", "start", "Start"), probe("2", "effect", failures=1, retry=retry)]
    execution_id = await harness.start(nodes)
    await harness.runner.run(await harness.claim())
    assert PROBES.calls["effect"] == 1  # the first attempt only
    assert (await harness.execution(execution_id)).status == states.RUNNING  # left to another
