"""The group commit's writers (engine.writes.commits.FencedWriter): one semantics on every database.

Each test runs against the writer `writer_for` picks for each database of the suite (SQLite:
engine.writes.fenced_sqlite on the writer thread; PostgreSQL: engine.writes.fenced_postgres, one
statement), and each write goes through `apply` in one batch, as a group commit hands them over.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, delete, select, update

from engine.flows import claimed_runs
from support import DATABASES, Tenant, retire_queued_runs
from weft.clock import now
from weft.engine.runs import lifecycle, queue, states
from weft.engine.starts import triggers
from weft.engine.workers.answers import ANSWERS_CHANNEL, sender_token
from weft.engine.writes import fenced_sqlite
from weft.engine.writes.commits import WRITERS, writer_for
from weft.ids import new_id
from weft.notifications import run_deliveries
from weft.store import raw_postgres
from weft.store.db import Database
from weft.store.json_codec import dump_json
from weft.store.tables import Execution, NotificationDelivery, NotificationSubscription, Step

pytestmark = pytest.mark.integration

NOTED = SimpleNamespace(id="9", type="transform", name="Nöted")
BASE = "/api/v2/public"


@pytest.fixture(autouse=True)
async def empty_queue(db: Database) -> None:
    """The database is shared by the suite: retire runs other tests left queued."""
    await retire_queued_runs(db)


def test_every_database_of_the_suite_has_a_writer() -> None:
    names = {"sqlite": "sqlite", "postgres": "postgresql"}
    assert {names[database] for database in DATABASES} <= set(WRITERS)


async def take_over(db: Database, run: queue.Claimed) -> None:
    """Worker w2 takes `run` over: w1's writes of it are fenced out."""
    async with db.transaction() as session:
        await session.execute(
            update(Execution).where(Execution.id == run.id).values(lease_owner="w2")
        )


def step(run_id: str, output: Any, iteration: str = "") -> dict[str, Any]:
    """A finished step row of `run_id`."""
    return queue.new_step_row(
        execution_id=run_id,
        node=NOTED,
        iteration=iteration,
        status="succeeded",
        started_at=now(),
        output=output,
    )


def commit(run: queue.Claimed, steps: list[dict[str, Any]], **values: Any) -> queue.FencedWrite:
    """w1's step commit of `run`."""
    return queue.step_commit(
        execution_id=run.id, owner="w1", attempt=run.attempt, steps=steps, lease_s=30, **values
    )


async def rows_of(db: Database, ids: list[str]) -> dict[str, Execution]:
    """The execution rows of `ids` as they are now."""
    async with db.reading() as session:
        found = await session.scalars(select(Execution).where(Execution.id.in_(ids)))
        return {row.id: row for row in found}


async def steps_of(db: Database, ids: list[str]) -> list[Step]:
    """The steps of the executions `ids`, by execution and iteration."""
    async with db.reading() as session:
        stmt = (
            select(Step)
            .where(Step.execution_id.in_(ids))
            .order_by(Step.execution_id, Step.iteration)
        )
        return list(await session.scalars(stmt))


async def test_fenced_writes_of_several_runs_land_exactly_where_the_lease_held(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    claimed = await claimed_runs(client, db, tenant, 4)
    await take_over(db, claimed[1])
    writes = [
        commit(run, [step(run.id, {"n": i})], response={"n": i}) for i, run in enumerate(claimed)
    ]
    assert await writer_for(db).apply(writes) == [True, False, True, True]
    rows = await rows_of(db, [run.id for run in claimed])
    assert [rows[run.id].response for run in claimed] == [{"n": 0}, None, {"n": 2}, {"n": 3}]
    landed = {s.execution_id for s in await steps_of(db, [run.id for run in claimed])}
    assert landed == {claimed[0].id, claimed[2].id, claimed[3].id}


async def test_a_write_whose_lease_was_lost_writes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    [run] = await claimed_runs(client, db, tenant, 1)
    await take_over(db, run)
    ending = lifecycle.finishing(
        execution_id=run.id,
        owner="w1",
        attempt=run.attempt,
        status=states.SUCCEEDED,
        steps=[step(run.id, 1)],
        output={"done": True},
    )
    assert await writer_for(db).apply([ending]) == [False]
    row = (await rows_of(db, [run.id]))[run.id]
    assert (row.status, row.lease_owner, row.output) == (states.RUNNING, "w2", None)
    assert await steps_of(db, [run.id]) == []


async def new_run_like(db: Database, template: queue.Claimed) -> dict[str, Any]:
    """The row of a new, directly started run, otherwise as `template`'s."""
    async with db.reading() as session:
        source = await session.get(Execution, template.id)
        columns = {c.name: getattr(source, c.name) for c in Execution.__table__.columns}
    return {**columns, "id": new_id(), "attempt": 1, "idempotency_key": None}


async def test_a_new_run_is_inserted_with_its_steps_beside_fenced_updates(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # A directly started run's first commit inserts its row (engine.starts.direct) in the batch.
    [template] = await claimed_runs(client, db, tenant, 1)
    row = await new_run_like(db, template)
    new = queue.Claimed(**{name: row[name] for name in queue.CLAIMED_FIELDS})
    inserted = queue.step_commit(
        execution_id=new.id,
        owner="w1",
        attempt=1,
        steps=[step(new.id, "first"), step(new.id, "second", "1")],
        lease_s=30,
        insert=row,
    )
    held = await writer_for(db).apply([inserted, commit(template, [step(template.id, 0)])])
    assert held == [True, True]
    written = (await rows_of(db, [new.id]))[new.id]
    assert (written.status, written.lease_owner, written.attempt) == (states.RUNNING, "w1", 1)
    assert [s.output for s in await steps_of(db, [new.id])] == ["first", "second"]


async def test_a_new_runs_trigger_step_reads_back_the_runs_own_input(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # The trigger step's output is the run's input object: on PostgreSQL the statement copies the
    # inserted row's value instead of parsing a second copy. Two new runs in one batch, each must
    # get its own input; an equal copy and another value are written as given.
    [template] = await claimed_runs(client, db, tenant, 1)
    writes, expected = [], {}
    for n in (1, 2):
        payload = {"body": {"n": f"marker-{n}", "records": [{"id": i} for i in range(50)]}}
        row = {**await new_run_like(db, template), "input": payload}
        steps = [
            step(row["id"], payload),
            step(row["id"], {**payload}, "1"),
            step(row["id"], n, "2"),
        ]
        writes.append(
            queue.step_commit(
                execution_id=row["id"], owner="w1", attempt=1, steps=steps, lease_s=30, insert=row
            )
        )
        expected[row["id"]] = [payload, payload, n]
    writes.append(commit(template, [step(template.id, {"other": True})]))
    sent: list[str] = []
    raw_postgres.statement_observers.append(lambda _sql, arguments: sent.append(str(arguments)))
    try:
        assert await writer_for(db).apply(writes) == [True, True, True]
    finally:
        raw_postgres.statement_observers.pop()
    if db.engine.dialect.name == "postgresql":  # the run's row and the equal copy: no third
        assert [sent[0].count(f"marker-{n}") for n in (1, 2)] == [2, 2], sent
    for run_id, outputs in expected.items():
        assert [s.output for s in await steps_of(db, [run_id])] == outputs
        assert (await rows_of(db, [run_id]))[run_id].input == outputs[0]
    assert [s.output for s in await steps_of(db, [template.id])] == [{"other": True}]


async def test_notifications_ride_along_with_the_end_only_where_the_lease_held(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    body = {"webhook_url": "http://127.0.0.1:9/hook", "webhook_events": ["Workflow Completed"]}
    created = await client.post(f"{BASE}/webhook", json=body, headers=tenant.org_key)
    assert created.status_code == 200, created.text
    subscription_id = created.json()["_id"]
    ended, lost, unsubscribed = await claimed_runs(client, db, tenant, 3)
    await take_over(db, lost)

    async def ending(run: queue.Claimed) -> queue.FencedWrite:
        ended = lifecycle.RunEnded.of(run, states.SUCCEEDED)
        rows = await run_deliveries(db, ended, "Workflow Completed", "COMPLETED")
        assert len(rows) == 1
        return lifecycle.finishing(
            execution_id=run.id,
            owner="w1",
            attempt=run.attempt,
            status=states.SUCCEEDED,
            steps=[],
            notifications=rows,
        )

    endings = [await ending(run) for run in (ended, lost)]
    assert await writer_for(db).apply(endings) == [True, False]
    assert await deliveries_of(db, [ended.id, lost.id]) == {ended.id}
    # A subscription deleted after the end's deliveries were read: the end lands without them.
    late = await ending(unsubscribed)
    async with db.transaction() as session:
        await session.execute(
            delete(NotificationSubscription).where(NotificationSubscription.id == subscription_id)
        )
    assert await writer_for(db).apply([late]) == [True]
    assert await deliveries_of(db, [unsubscribed.id]) == set()
    rows = await rows_of(db, [ended.id, unsubscribed.id])
    assert {row.status for row in rows.values()} == {states.SUCCEEDED}


async def deliveries_of(db: Database, ids: list[str]) -> set[str]:
    """The runs among `ids` that have a queued `Workflow Completed` delivery."""
    async with db.reading() as session:
        queued = await session.scalars(
            select(NotificationDelivery.payload).where(
                NotificationDelivery.event == "Workflow Completed"
            )
        )
        # .get: other tests share the database, and some store deliveries of no run.
        return {payload.get("execution_id") for payload in queued} & set(ids)


# SQLite has no NOTIFY: other processes read their answers (engine.workers.answers).
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_answers_are_announced_at_commit_on_postgresql(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    answered, quiet, lost = await claimed_runs(client, db, tenant, 3)
    await take_over(db, lost)
    heard: asyncio.Queue[str] = asyncio.Queue()
    async with db.engine.connect() as connection:
        listener = (await connection.get_raw_connection()).driver_connection

        def hear(*args: Any) -> None:
            heard.put_nowait(args[-1])  # (connection, pid, channel, payload)

        await listener.add_listener(ANSWERS_CHANNEL, hear)
        writes = [commit(answered, [], response={"ok": 1}), commit(quiet, [])]
        writes.append(commit(lost, [], response={"ok": 2}))
        assert await writer_for(db).apply(writes) == [True, True, False]
        payload = await asyncio.wait_for(heard.get(), 30)
        await listener.remove_listener(ANSWERS_CHANNEL, hear)
    # The runs that answered a caller and held their lease, no other.
    assert payload == f"{sender_token()}:{answered.id}"


async def test_values_of_every_kind_read_back_as_written(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # Writes of different columns in one batch: JSON of every kind, numbers past 64 bits, text
    # past ASCII and nulls read back as given.
    answered, plain = await claimed_runs(client, db, tenant, 2)
    response = {"ünï": ["✓", None, 2**70, 1.5, True], "nested": {"": {}}, "n": -(2**63)}
    outputs = [None, [], "text", 2**70]
    writes = [
        commit(answered, [], response=response),
        commit(plain, [step(plain.id, out, f"{i}") for i, out in enumerate(outputs)]),
    ]
    assert await writer_for(db).apply(writes) == [True, True]
    rows = await rows_of(db, [answered.id, plain.id])
    assert rows[answered.id].response == response and rows[plain.id].response is None
    assert rows[answered.id].due_at is not None and rows[answered.id].due_at > now()
    steps = await steps_of(db, [plain.id])
    assert [s.output for s in steps] == outputs
    assert all(s.node_name == "Nöted" and s.input is None for s in steps)


def _as_sqlalchemy_writes(table: Any, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """`rows` in `table`'s column order, each value as SQLAlchemy's bind processors write it."""
    engine = create_engine("sqlite://", json_serializer=dump_json)
    processors = {
        column.name: column.type._cached_bind_processor(engine.dialect) for column in table.columns
    }
    return [
        tuple(processors[name](row[name]) if processors[name] else row[name] for name in processors)
        for row in rows
    ]


ODD = {"ünï": ["✓", None, 2**70, 1.5, True, "\ud800", "a\x00b"], "": {}}
ELSEWHERE = datetime(2026, 3, 29, 3, 30, 5, 7000, tzinfo=timezone(timedelta(hours=2)))


def test_steps_are_encoded_for_sqlite_as_sqlalchemy_would_encode_them() -> None:
    # fenced_sqlite encodes step rows itself (SQLAlchemy's per-row handling cost more than the
    # insert); each value must be what SQLAlchemy's own bind processors write.
    rows = [step(new_id(), output, str(i)) for i, output in enumerate([None, ODD, "x", 3, []])]
    rows[1]["error"], rows[1]["branch"] = {"message": "no"}, "error"
    rows[2]["started_at"] = ELSEWHERE
    rows[3]["started_at"] = rows[3]["finished_at"] = rows[4]["started_at"]  # one time, twice
    expected = _as_sqlalchemy_writes(Step.__table__, rows)
    assert fenced_sqlite.step_values(rows) == expected


def test_new_runs_are_encoded_for_sqlite_as_sqlalchemy_would_encode_them() -> None:
    # A direct run's row (every column) is inserted by the group commit with values encoded
    # there, as steps are: the same values SQLAlchemy would write.
    tenant = SimpleNamespace(org_id=new_id(), environment="test", linked_account_pk=new_id())
    workflow = SimpleNamespace(id=new_id(), current_version=3)
    rows = []
    for payload in [None, ODD, "text", []]:
        row = triggers.execution_row(tenant, workflow, trigger="webhook", payload=payload)  # type: ignore[arg-type]
        rows.append({**row, "status": states.RUNNING, "lease_owner": "w1", "attempt": 1})
    rows[1].update(output=ODD, response={"n": 1}, error={"message": "no"}, is_test=True)
    rows[2].update(started_at=ELSEWHERE, finished_at=now(), config={"fields": {}})
    assert all(row.keys() == {c.name for c in Execution.__table__.columns} for row in rows)
    expected = _as_sqlalchemy_writes(Execution.__table__, rows)
    assert fenced_sqlite.execution_values(rows) == expected
