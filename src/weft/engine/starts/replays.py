""" "What changes if I publish": the last live runs' trigger data replayed through the draft.

Each live run gets one test run of the draft in safe mode, with the live run's trigger output
and config. Write steps are held back as in any test run, and where the live run has a step's
answer they answer that (a pin), so the steps after them see what they saw live and the
comparison shows what the draft itself changes. Test runs come due `PACE_S` apart, so a
replay does not land in the queue all at once; the claim's per-account limit and its
round-robin across accounts bound what it takes from other accounts' runs. The comparison
(`engine.runs.replay_report`) is read when the editor asks, so nothing waits on the runs here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.engine.interpreter.safe_mode import EditorTestOptions, effect_of
from weft.engine.runs import lifecycle, states
from weft.engine.starts.triggers import new_execution, runnable_draft
from weft.errors import InvalidInput
from weft.ids import new_id
from weft.nodes import KINDS, NodeConfigError, UnknownNodeTypeError, parse_node_config
from weft.store.scope import Scope, scope_columns, scoped_select
from weft.store.tables import DraftReplay, Execution, Step
from weft.workflows.graph import Graph

if TYPE_CHECKING:
    from weft.engine.workers.services import Services

MAX_RUNS = 100  # live runs one replay may take
KEPT = 10  # replays kept per workflow and account: older ones are removed as new ones start
PACE_S = 0.25  # between two replayed runs' due times
REPLAYED = (states.SUCCEEDED, states.FAILED, states.ERRORED)  # live runs that ended


async def start_replay(services: Services, scope: Scope, workflow_id: str, count: int) -> str:
    """Queue a replay of the last `count` ended live runs through the draft; its id."""
    if not 1 <= count <= MAX_RUNS:
        raise InvalidInput(
            f"count must be between 1 and {MAX_RUNS}", error_code="REPLAY_COUNT_OUT_OF_RANGE"
        )
    replay: DraftReplay = await lifecycle.queue_runs(
        services, lambda session: _queue_replay(scope, workflow_id, count, session=session)
    )
    return replay.id


async def _queue_replay(
    scope: Scope, workflow_id: str, count: int, *, session: AsyncSession
) -> DraftReplay:
    workflow, graph = await runnable_draft(scope, workflow_id, session=session)
    live = list(
        await session.scalars(
            scoped_select(Execution, scope)
            .where(
                Execution.workflow_id == workflow.id,
                Execution.is_test.is_(False),
                Execution.status.in_(REPLAYED),
            )
            .order_by(Execution.created_at.desc(), Execution.id.desc())
            .limit(count)
        )
    )
    steps = await _steps_by_run([run.id for run in live], session=session)
    writes = _pinnable_writes(graph)
    start = now()
    pairs: list[dict[str, str]] = []
    # Oldest first, so the replay's runs come due in the order the live ones ran.
    for index, run in enumerate(reversed(live)):
        options = EditorTestOptions(pinned=_pins(steps.get(run.id, []), writes))
        test_graph = {
            "nodes": graph.nodes_json(),
            "edges": graph.edges_json(),
            "test_mode": options.to_json(),
            "replay_of": run.id,
        }
        test = new_execution(
            scope,
            workflow,
            trigger="test",
            payload=run.input,
            is_test=True,
            test_graph=test_graph,
            config=run.config,
        )
        test.due_at = start + timedelta(seconds=PACE_S * index)
        session.add(test)
        pairs.insert(0, {"live": run.id, "test": test.id})
    replay = DraftReplay(
        id=new_id(),
        **scope_columns(scope),
        workflow_id=workflow.id,
        requested=count,
        runs=pairs,
        created_at=start,
    )
    session.add(replay)
    await session.flush()
    await _forget_old_replays(scope, workflow.id, session=session)
    return replay


async def _forget_old_replays(scope: Scope, workflow_id: str, *, session: AsyncSession) -> None:
    """Remove all but the newest `KEPT` replays (their test runs age out with other test runs)."""
    old = (
        scoped_select(DraftReplay, scope)
        .with_only_columns(DraftReplay.id)
        .where(DraftReplay.workflow_id == workflow_id)
        .order_by(DraftReplay.created_at.desc(), DraftReplay.id.desc())
        .offset(KEPT)
    )
    stale = list(await session.scalars(old))
    if stale:
        await session.execute(delete(DraftReplay).where(DraftReplay.id.in_(stale)))


async def _steps_by_run(run_ids: list[str], *, session: AsyncSession) -> dict[str, list[Step]]:
    found: dict[str, list[Step]] = {}
    if not run_ids:
        return found
    for step in await session.scalars(
        select(Step).where(Step.execution_id.in_(run_ids)).order_by(Step.id)
    ):
        found.setdefault(step.execution_id, []).append(step)
    return found


def _pinnable_writes(graph: Graph) -> set[str]:
    """The draft's write steps that may answer a pinned output (their live answers)."""
    writes: set[str] = set()
    for node in graph.nodes:
        kind = KINDS.get(node.type)
        if kind is None or not kind.pinnable:
            continue
        try:
            config = parse_node_config(node.type, node.data)
        except (NodeConfigError, UnknownNodeTypeError):
            continue  # publishing's checks refused this draft already
        if effect_of(node.type, config) == "write":
            writes.add(node.id)
    return writes


def _pins(live_steps: list[Step], writes: set[str]) -> dict[str, Any]:
    """The live answers of the draft's write steps that ran once (outside loops) and succeeded."""
    return {
        step.node_id: step.output
        for step in live_steps
        if step.node_id in writes and step.iteration == "" and step.status == states.SUCCEEDED
    }
