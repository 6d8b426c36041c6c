"""Starting runs: execute, events, webhooks, tests and reruns all write one queued execution."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.checks import catalog_problems
from weft.apps.configs import config_for_run, enabled_for_event
from weft.apps.json_schema import check_payload, event_schemas
from weft.clock import now
from weft.engine.interpreter.safe_mode import EditorTestOptions, check_options
from weft.engine.runs import lifecycle, states
from weft.engine.runs.history import get_execution
from weft.engine.starts.direct import StartedRun
from weft.engine.starts.trigger_output import sample_output
from weft.errors import Conflict, InvalidInput, NotFound
from weft.ids import new_id
from weft.nodes import Role, has_role
from weft.store.scope import Scope, scope_columns, scoped_select
from weft.store.tables import Execution, Workflow
from weft.workflows.graph import Graph, normalize_graph
from weft.workflows.live_cache import LIVE_STARTS
from weft.workflows.pauses import refuse_if_paused
from weft.workflows.public import get_public_workflow
from weft.workflows.records import locate_workflow
from weft.workflows.versions import open_draft, refuse_graph_problems

if TYPE_CHECKING:
    from weft.engine.workers.services import Services

MAX_KEY_LENGTH = 150


def request_hash(payload: Any) -> str:
    """A fingerprint of a trigger's body, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def new_execution(*args: Any, **kwargs: Any) -> Execution:
    """A queued execution row (ORM object) of `workflow`'s live version: see `execution_row`."""
    return Execution(**execution_row(*args, **kwargs))


def execution_row(
    scope: Scope,
    workflow: Workflow,
    *,
    trigger: str,
    payload: Any,
    key: str | None = None,
    digest: str | None = None,
    is_test: bool = False,
    test_graph: dict[str, Any] | None = None,
    parent: str | None = None,
    config_id: str | None = None,
    config: Any = None,
) -> dict[str, Any]:
    """A queued execution's column values: a run of `workflow`'s live version (or of a test
    graph). A public workflow's run carries the config it runs with and the values it reads then.
    """
    moment = now()
    return dict(
        id=new_id(),
        workflow_id=workflow.id,
        version=None if is_test else workflow.current_version,
        test_graph=test_graph,
        is_test=is_test,
        trigger=trigger,
        input=payload,
        status=states.QUEUED,
        idempotency_key=key,
        request_hash=digest,
        parent_execution_id=parent,
        config_id=config_id,
        config=config,
        due_at=moment,
        attempt=0,
        created_at=moment,
        updated_at=moment,
        output=None,
        response=None,
        error=None,
        lease_owner=None,
        started_at=None,
        finished_at=None,
        **scope_columns(scope),
    )


async def _deduplicated(
    scope: Scope, keys: list[str], digest: str, window_s: int, *, session: AsyncSession
) -> list[Execution] | None:
    """Executions an earlier request with the same key started, or None if there are none."""
    rows = list(
        await session.scalars(
            scoped_select(Execution, scope).where(Execution.idempotency_key.in_(keys))
        )
    )
    if not rows:
        return None
    fresh = [r for r in rows if r.created_at >= now() - timedelta(seconds=window_s)]
    if not fresh:
        # Past the window the key is free again: detach it from the old runs.
        await session.execute(
            update(Execution)
            .where(Execution.id.in_([r.id for r in rows]))
            .values(idempotency_key=None)
        )
        await session.flush()
        return None
    if any(r.request_hash != digest for r in fresh):
        raise Conflict(
            "This Idempotency-Key was already used with a different request",
            error_code="IDEMPOTENCY_KEY_REUSED",
        )
    return fresh


def _check_key(key: str | None) -> str | None:
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    return key


async def execute_target(
    scope: Scope, workflow_id: str, config_id: str | None, *, session: AsyncSession
) -> tuple[Workflow, tuple[str | None, Any]]:
    """The live workflow an execute call names, and the config (id, values) it runs with.

    The id may name one of the org's public workflows: it then runs with the linked account's
    config (`config_id`, default the app's default config), which must enable it.
    """
    try:
        workflow = (await locate_workflow(scope, workflow_id, session=session)).workflow
    except NotFound as missing:
        if missing.error_code == "DRAFT_NOT_FOUND":  # the account's own, gone draft: say so
            raise
        workflow = await get_public_workflow(scope, workflow_id, session=session)
    if not workflow.published or workflow.current_version == 0:
        raise InvalidInput(
            f"Workflow {workflow.id} is not published", error_code="WORKFLOW_NOT_PUBLISHED"
        )
    refuse_if_paused(workflow)
    run_config: tuple[str | None, Any] = (None, None)
    if workflow.linked_account_pk is None:
        run_config = await config_for_run(scope, workflow, config_id, session=session)
    return workflow, run_config


async def start_execute(
    services: Services, scope: Scope, workflow_id: str, payload: Any, *, config_id: str | None
) -> StartedRun:
    """Start a run of the live version (no Idempotency-Key), here at once when a worker of this
    process has room (engine.starts.direct), else queued; the handle that gives out its id."""
    async with services.db.reading() as session:
        workflow, run_config = await execute_target(scope, workflow_id, config_id, session=session)
    row = execution_row(
        scope,
        workflow,
        trigger="execute",
        payload=payload,
        digest=request_hash(payload),
        config_id=run_config[0],
        config=run_config[1],
    )
    return await lifecycle.start_run(services, row)


async def execute_workflow(
    scope: Scope,
    workflow_id: str,
    payload: Any,
    *,
    key: str | None,
    window_s: int,
    session: AsyncSession,
    config_id: str | None = None,
) -> Execution:
    """Queue a run of the live version (whatever its trigger) with `payload` as trigger output.

    The id may name one of the org's public workflows: it then runs with the linked account's
    config (`config_id`, default the app's default config), which must enable it.
    """
    workflow, run_config = await execute_target(scope, workflow_id, config_id, session=session)
    run_key = f"{key}#{workflow.id}" + (f"#{run_config[0]}" if run_config[0] else "")
    digest = request_hash(payload)
    if _check_key(key):
        existing = await _deduplicated(scope, [run_key], digest, window_s, session=session)
        if existing:
            return existing[0]
    execution = new_execution(
        scope,
        workflow,
        trigger="execute",
        payload=payload,
        key=run_key if key else None,
        digest=digest,
        config_id=run_config[0],
        config=run_config[1],
    )
    session.add(execution)
    await session.flush()
    return execution


@dataclass(frozen=True)
class EventListeners:
    """What an event starts for one linked account: every live workflow listening to it, with
    the config it runs with (its id and values; None for a private workflow), and the schemas its
    payload must meet."""

    targets: list[tuple[Workflow, str | None, Any]]
    schemas: list[Any]

    def for_payload(self, event: str, payload: Any) -> list[tuple[Workflow, str | None, Any]]:
        """The targets that start for `payload`: 404 when none listens, 423 when every one
        paused itself, 400 when the payload breaks a schema."""
        if not self.targets:
            raise NotFound(
                f"No live workflow listens to event {event!r}", error_code="INVALID_EVENT"
            )
        running = [target for target in self.targets if target[0].paused_at is None]
        if not running:  # every listener paused itself: say so rather than queue nothing
            refuse_if_paused(self.targets[0][0])
        for schema in self.schemas:
            check_payload(event, schema, payload)
        return running


async def event_listeners(
    scope: Scope,
    event: str,
    *,
    session: AsyncSession,
    slug: str | None = None,
    config_id: str | None = None,
) -> EventListeners:
    """The account's listeners to `event`. Besides its private workflows, the public workflows
    its configs enable run too, once per config (only those of app `slug` / config `config_id`
    when given), each with its values."""
    listening = list(
        await session.scalars(
            scoped_select(Workflow, scope)
            .where(
                Workflow.published.is_(True),
                Workflow.trigger == "event",
                Workflow.trigger_event == event,
            )
            .order_by(Workflow.id)
        )
    )
    targets: list[tuple[Workflow, str | None, Any]] = [(w, None, None) for w in listening]
    targets += await enabled_for_event(
        scope, event, slug=slug, config_id=config_id, session=session
    )
    schemas = await event_schemas(scope.org_id, event, slug=slug, session=session)
    return EventListeners(targets, schemas)


async def _remembered_listeners(
    services: Services, scope: Scope, event: str, slug: str | None, config_id: str | None
) -> EventListeners:
    """`event_listeners`, remembered for a moment as a webhook's workflow is (LIVE_STARTS):
    a busy event is not looked up (three to five reads) per call."""

    async def load() -> EventListeners:
        async with services.db.reading() as session:
            return await event_listeners(
                scope, event, session=session, slug=slug, config_id=config_id
            )

    account = (scope.org_id, scope.environment, scope.linked_account_pk)
    key = "\x1f".join(part or "" for part in ("event", *account, event, slug, config_id))
    return await LIVE_STARTS.get_or_load(key, load)


async def start_event(
    services: Services,
    scope: Scope,
    event: str,
    payload: Any,
    *,
    slug: str | None = None,
    config_id: str | None = None,
) -> list[StartedRun]:
    """Start a run of every workflow listening to `event` (no Idempotency-Key), each here at
    once when a worker of this process has room (engine.starts.direct), else queued: the same
    path as a webhook's run."""
    listeners = await _remembered_listeners(services, scope, event, slug, config_id)
    targets = listeners.for_payload(event, payload)
    digest = request_hash({"event": event, "payload": payload})
    rows = [
        execution_row(
            scope,
            workflow,
            trigger="event",
            payload=payload,
            digest=digest,
            config_id=config,
            config=values,
        )
        for workflow, config, values in targets
    ]
    return [await lifecycle.start_run(services, row) for row in rows]


async def trigger_event(
    scope: Scope,
    event: str,
    payload: Any,
    *,
    key: str,
    window_s: int,
    session: AsyncSession,
    slug: str | None = None,
    config_id: str | None = None,
) -> list[Execution]:
    """Queue a run of every workflow listening to `event` (`event_listeners`), deduplicated by
    the Idempotency-Key `key`: a repeat within `window_s` gets the first request's runs."""
    listeners = await event_listeners(scope, event, session=session, slug=slug, config_id=config_id)
    targets = listeners.for_payload(event, payload)
    digest = request_hash({"event": event, "payload": payload})

    def run_key(workflow: Workflow, config: str | None) -> str:
        return f"{key}#{workflow.id}" + (f"#{config}" if config else "")

    if _check_key(key):
        keys = [run_key(w, c) for w, c, _ in targets]
        existing = await _deduplicated(scope, keys, digest, window_s, session=session)
        if existing:
            return existing
    runs = [
        new_execution(
            scope,
            w,
            trigger="event",
            payload=payload,
            key=run_key(w, c),
            digest=digest,
            config_id=c,
            config=values,
        )
        for w, c, values in targets
    ]
    session.add_all(runs)
    await session.flush()
    return runs


async def runnable_draft(
    scope: Scope, workflow_id: str, *, session: AsyncSession
) -> tuple[Workflow, Graph]:
    """The workflow and its draft's graph, or 422 INVALID_WORKFLOW_GRAPH listing every problem
    that would stop the draft from running (the checks publishing makes)."""
    workflow, draft = await open_draft(scope, workflow_id, session=session)
    graph = normalize_graph(draft.nodes, draft.edges)
    await refuse_graph_problems(
        scope,
        workflow,
        graph,
        "The draft cannot run",
        catalog_problems=catalog_problems,
        session=session,
    )
    return workflow, graph


async def start_test(
    scope: Scope,
    workflow_id: str,
    payload: Any | None,
    *,
    session: AsyncSession,
    options: EditorTestOptions | None = None,
    config: dict[str, Any] | None = None,
) -> Execution:
    """Queue a test run of the draft (kept apart from live history), safe mode by default.

    `config` stands in for the values a public workflow's run reads as `config`, as the
    payload stands in for the trigger's; without it the run reads `{}`, as a private
    workflow's live run does.
    """
    workflow, graph = await runnable_draft(scope, workflow_id, session=session)
    options = options or EditorTestOptions()
    options = check_options(graph, options)
    start = next(n for n in graph.nodes if has_role(n.type, Role.START))
    if payload is None:
        payload = (start.data or {}).get("sample_payload")
    # The payload stands in for what the trigger's caller sends, as in a live run.
    payload = sample_output((start.data or {}).get("trigger", "manual"), payload)
    execution = new_execution(
        scope,
        workflow,
        trigger="test",
        payload=payload,
        is_test=True,
        test_graph={
            "nodes": graph.nodes_json(),
            "edges": graph.edges_json(),
            "test_mode": options.to_json(),
        },
        config=config,
    )
    session.add(execution)
    await session.flush()
    return execution


async def rerun_execution(scope: Scope, execution_id: str, *, session: AsyncSession) -> Execution:
    """Queue a new run with the same input, on the live version (test runs: the same draft)."""
    old = await get_execution(scope, execution_id, session=session)
    if old.config_id is not None:
        workflow = await get_public_workflow(scope, old.workflow_id, session=session)
    else:
        workflow = (await locate_workflow(scope, old.workflow_id, session=session)).workflow
    if not old.is_test and (not workflow.published or workflow.current_version == 0):
        raise InvalidInput(
            f"Workflow {workflow.id} is not published", error_code="WORKFLOW_NOT_PUBLISHED"
        )
    if not old.is_test:
        refuse_if_paused(workflow)
    execution = new_execution(
        scope,
        workflow,
        trigger="rerun",
        payload=old.input,
        is_test=old.is_test,
        test_graph=old.test_graph,
        parent=None,
        config_id=old.config_id,
        config=old.config,
    )
    session.add(execution)
    await session.flush()
    return execution
