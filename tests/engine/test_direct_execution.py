"""Direct execution: a run triggered in a process with a free worker slot runs there at once.

Its row is inserted already leased (no queue, no claim), with the steps done so far, before its
first outside call; until then nobody has seen the run. Queued work and per-account limits still
come first, and a long step without outside effects gets its row written within a lease.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine as SyncEngine
from sqlalchemy import event, select

from engine.flows import BASE, finished, publish
from engine.sink import Sink
from graphs import node
from support import Tenant, TenantFactory, running_app, wait_until
from weft.api.deps import app_state
from weft.engine.interpreter.run_state import RunState
from weft.engine.starts.direct import StartedRun, UnsavedRun
from weft.engine.workers.host import Engine, build_services
from weft.store import raw_postgres
from weft.store.db import Database
from weft.store.tables import Execution, Step

pytestmark = pytest.mark.integration


async def hook_path(client: httpx.AsyncClient, tenant: Tenant, workflow_id: str) -> str:
    got = await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
    return str(got.json()["webhook_path"])


def sync_hook() -> dict[str, Any]:
    return node("1", "start", "Start", trigger="webhook", sync=True)


async def rows_of(db: Database, workflow_id: str) -> list[Execution]:
    async with db.reading() as session:
        found = await session.scalars(select(Execution).where(Execution.workflow_id == workflow_id))
        return list(found)


async def steps_of(db: Database, execution_id: str) -> list[str]:
    async with db.reading() as session:
        found = await session.scalars(
            select(Step.node_id).where(Step.execution_id == execution_id).order_by(Step.id)
        )
        return list(found)


async def test_a_sync_webhook_run_is_inserted_leased_with_its_steps_in_one_transaction(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    statements: list[tuple[str, Any]] = []

    def seen(_c: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "rate_windows" not in sql:  # the hook's allowance is counted, not part of the run
            statements.append((sql, params))

    def seen_raw(sql: str, arguments: Any) -> None:  # PostgreSQL's batches (raw_postgres)
        statements.append((sql.replace('"', ""), arguments))

    async with running_app(settings, db, poll_s=30) as client:
        reply = node("3", "respond", "Reply", body={"doubled": "{{ nodes.twice }}"})
        twice = node("2", "transform", "Twice", value="{{ trigger.body.n * 2 }}")
        wf = await publish(client, tenant, [sync_hook(), twice, reply])
        path = await hook_path(client, tenant, wf)
        await client.post(path, json={"n": 1})  # warm: plan and webhook caches
        # Every engine of the process: SQLite's writes go through a writer thread's own engine.
        event.listen(SyncEngine, "before_cursor_execute", seen)
        raw_postgres.statement_observers.append(seen_raw)
        try:
            answer = await client.post(path, json={"n": 21})
        finally:
            event.remove(SyncEngine, "before_cursor_execute", seen)
            raw_postgres.statement_observers.remove(seen_raw)
    assert answer.status_code == 200 and answer.json() == {"doubled": 42}
    run_id = answer.headers["x-execution-id"]
    writes = [(sql, p) for sql, p in statements if not sql.lstrip().upper().startswith("SELECT")]
    inserted = [p for sql, p in writes if "INSERT INTO executions" in sql]
    assert len(inserted) == 1, writes  # no queued row first, no claim of it afterwards
    assert not any("lease_owner = " in sql and "WITH" in sql for sql, _ in writes)  # no claim
    if db.dialect.name == "sqlite":
        # The whole run is four statements: its finished row, its three steps in one
        # executemany, its workflow's failure streak back to 0 (writing nothing while it is) and
        # its usage (engine.interpreter.metering).
        assert [sql.split("(")[0].strip() for sql, _ in writes if not sql.startswith("BEGIN")] == [
            "INSERT INTO executions",
            "INSERT INTO steps",
            "UPDATE workflow_failures SET streak=?, updated_at=? WHERE "
            "workflow_failures.workflow_id = ? AND workflow_failures.streak > ?",
            "INSERT INTO usage_daily",
        ]
    else:  # one statement (engine.writes.fenced_postgres): the row and the steps, as arrays
        (batch,) = [sql for sql, _ in statements if not sql.startswith(("BEGIN", "SELECT"))]
        assert "INSERT INTO executions" in batch and "INSERT INTO steps" in batch, batch
        assert "UPDATE executions" not in batch.replace('"', "")
    rows = await rows_of(db, wf)
    run = next(r for r in rows if r.id == run_id)
    assert run.status == "succeeded" and run.attempt == 1 and run.lease_owner is None
    assert await steps_of(db, run_id) == ["1", "2", "3"]


async def test_a_direct_run_is_written_before_its_first_outside_call(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    sink = Sink()
    try:
        async with running_app(settings, db) as client:
            shape = node("2", "transform", "Shape", value="{{ trigger.body.n }}")
            call = node("3", "http", "Call", method="POST", url=f"{sink.url}/slow/1500", body={})
            reply = node("4", "respond", "Reply", body={"ok": True})
            wf = await publish(client, tenant, [sync_hook(), shape, call, reply])
            path = await hook_path(client, tenant, wf)
            answering = asyncio.ensure_future(client.post(path, json={"n": 3}))
            # Until the outside call is in progress.
            await wait_until(lambda: sink.calls, what="the http step's call")
            # While the call is in flight the run is committed: leased and running, with the
            # steps before the call.
            (run,) = await rows_of(db, wf)
            assert run.status == "running" and run.lease_owner and run.attempt == 1
            assert await steps_of(db, run.id) == ["1", "2"]
            answer = await answering
        assert answer.status_code == 200, answer.text
        assert await steps_of(db, run.id) == ["1", "2", "3", "4"]
    finally:
        sink.close()


async def test_an_async_webhook_run_is_readable_as_soon_as_its_id_is_answered(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    async with running_app(settings, db) as client:
        busy = node(
            "2",
            "code",
            "Busy",
            source="const until = Date.now() + 800; while (Date.now() < until) {} return 1",
        )
        wf = await publish(client, tenant, [node("1", "start", "Start", trigger="webhook"), busy])
        path = await hook_path(client, tenant, wf)
        answer = await client.post(path, json={})
        assert answer.status_code == 202
        execution_id = answer.json()["execution_id"]
        seen = await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)
        assert seen.status_code == 200, seen.text
        assert seen.json()["status"] in {"RUNNING", "COMPLETED"}
        done = await finished(client, tenant, execution_id)
        assert done["status"] == "COMPLETED"


async def test_a_long_step_without_outside_effects_gets_its_run_written_within_a_lease(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    # The step outlasts the lease by half. A lease of 4 s is renewed every 1.3 s: a machine at
    # the suite's full load has missed a 1.5 s lease's renewals (0.5 s apart) altogether.
    async with running_app(settings, db, lease_s=4) as client:
        busy = node(
            "2",
            "code",
            "Busy",
            source="const until = Date.now() + 6000; while (Date.now() < until) {} return 7",
            timeout_ms=10000,
        )
        reply = node("3", "respond", "Reply", body={"got": "{{ nodes.busy }}"})
        wf = await publish(client, tenant, [sync_hook(), busy, reply])
        path = await hook_path(client, tenant, wf)
        answering = asyncio.ensure_future(client.post(path, json={}))

        async def written_running() -> bool:
            return [run.status for run in await rows_of(db, wf)] == ["running"]

        # Written within a third of the lease, while the 6 s step still runs.
        await wait_until(written_running, what="the run written while its step runs")
        answer = await answering
    # Renewed, not lost: the run went on to the end in the same worker.
    assert answer.status_code == 200 and answer.json() == {"got": 7}, answer.text
    (run,) = await rows_of(db, wf)
    assert run.status == "succeeded" and run.attempt == 1


async def test_direct_starts_keep_the_per_account_limit(
    settings: Any, db: Database, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    sink = Sink()
    try:
        async with running_app(settings, db, account_concurrency=1) as client:
            call = node("2", "http", "Call", method="POST", url=f"{sink.url}/slow/800", body={})
            wf = await publish(client, tenant, [sync_hook(), call])
            path = await hook_path(client, tenant, wf)
            first = asyncio.ensure_future(client.post(path, json={"n": 1}))
            await wait_until(lambda: sink.calls, what="the first run's call")
            second = asyncio.ensure_future(client.post(path, json={"n": 2}))

            async def second_queued() -> bool:
                statuses = sorted(r.status for r in await rows_of(db, wf))
                return statuses == ["queued", "running"]

            # The second waits its turn in the queue while the first's 800 ms call runs.
            await wait_until(second_queued, what="the second run queued behind the first")
            answers = await asyncio.gather(first, second)
        assert [a.status_code for a in answers] == [200, 200]
        assert sorted(r.status for r in await rows_of(db, wf)) == ["succeeded", "succeeded"]
    finally:
        sink.close()


async def test_a_graceful_stop_writes_and_hands_on_a_direct_run_not_yet_written(
    app: Any,
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A third of a 5 s lease in, the heartbeat would write the run itself: a loaded machine can
    # take that long to reach the check below. With 30 s only the graceful stop writes it.
    app_state(app).settings.lease_s = 30
    first = Engine(app_state(app).services)
    await first.start(1, schedule=False)
    # The code pool up first (it starts on first use): stopped while V8 still starts, the run
    # would not yet be in its step.
    code = app_state(app).services.sandbox.run
    assert await code("1 + 1", None, timeout_ms=30_000, memory_mb=64) == 2
    in_code_step = asyncio.Event()

    async def spied(*args: Any, **kwargs: Any) -> Any:
        in_code_step.set()
        return await code(*args, **kwargs)

    monkeypatch.setattr(app_state(app).services.sandbox, "run", spied)
    busy = node(
        "2",
        "code",
        "Busy",
        source="const until = Date.now() + 1500; while (Date.now() < until) {} return 7",
        timeout_ms=5000,
    )
    reply = node("3", "respond", "Reply", body={"got": "{{ nodes.busy }}"})
    wf = await publish(client, tenant, [sync_hook(), busy, reply])
    path = await hook_path(client, tenant, wf)
    # Until its first claim (of nothing) is done.
    await wait_until(lambda: first.workers[0].adopting, what="the worker's first claim")
    answering = asyncio.ensure_future(client.post(path, json={}))
    await asyncio.wait_for(in_code_step.wait(), 30)  # busy in its 1.5 s step
    assert await rows_of(db, wf) == []  # nothing written yet
    await first.stop(grace_s=0.1)
    (row,) = await rows_of(db, wf)
    assert row.status == "running" and row.lease_owner is None  # written, then released
    second = Engine(build_services(db, app_state(app).settings))
    await second.start(1, schedule=False)
    try:
        answer = await answering  # the caller still gets its answer, from the second worker
    finally:
        await second.stop()
    assert answer.status_code == 200 and answer.json() == {"got": 7}, answer.text
    (row,) = await rows_of(db, wf)
    assert row.status == "succeeded" and row.attempt == 2


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
async def test_a_commit_that_finds_the_row_taken_waits_until_it_is_written() -> None:
    """Group commits overlap on PostgreSQL: a run's fenced update must not overtake the insert
    of its row that another commit (UnsavedRun.persist, the heartbeat) carries."""
    unsaved = UnsavedRun({"id": "e1"}, written_nowhere)
    state = RunState(claimed=None, plan=None, done={}, unsaved=unsaved)  # type: ignore[arg-type]
    assert unsaved.take() == {"id": "e1"}  # persist's commit took it and is in flight
    waiting = asyncio.ensure_future(state.take_row())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    unsaved.settle()
    assert await asyncio.wait_for(waiting, 30) is None
    assert await state.take_row() is None  # written: later commits go straight on


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
async def test_the_first_commit_takes_the_row_once() -> None:
    unsaved = UnsavedRun({"id": "e1"}, written_nowhere)
    state = RunState(claimed=None, plan=None, done={}, unsaved=unsaved)  # type: ignore[arg-type]
    assert await state.take_row() == {"id": "e1"}
    state.row_written()
    assert await state.take_row() is None


async def written_nowhere(_write: Any) -> None:
    """A group commit that writes nothing (UnsavedRun's tests have no database)."""


async def test_an_async_start_writes_the_row_before_its_id_goes_out_and_only_once() -> None:
    written: list[Any] = []

    async def write(fenced: Any) -> None:
        written.append(fenced)

    run = StartedRun("e1", UnsavedRun({"id": "e1", "lease_owner": "w1", "attempt": 1}, write))
    assert await run.durable_id() == "e1"
    assert [w.insert["id"] for w in written] == ["e1"]
    assert await run.durable_id() == "e1" and len(written) == 1


async def test_a_sync_caller_answered_by_the_runs_own_commit_costs_no_extra_write() -> None:
    written: list[Any] = []

    async def write(fenced: Any) -> None:
        written.append(fenced)

    unsaved = UnsavedRun({"id": "e1", "lease_owner": "w1", "attempt": 1}, write)
    state = RunState(claimed=None, plan=None, done={}, unsaved=unsaved)  # type: ignore[arg-type]
    assert await state.take_row() is not None  # the commit that ends the run carries the row
    state.row_written()
    assert await StartedRun("e1", unsaved).durable_id() == "e1"
    assert written == []
