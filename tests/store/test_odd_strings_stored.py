"""Whatever strings a run records come back valid: every string Hypothesis makes (lone
surrogates and NUL among them, in keys and values) written through each way the engine records
JSON (a direct run's insert and a fenced update of the group commit's writer, an ORM update)
reads back with U+FFFD in place of each lone surrogate and NUL, the same on both databases."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from sqlalchemy import select, update

from engine.flows import execute, publish
from graphs import MANUAL_START
from odd_strings import expected, odd_json
from support import Tenant
from weft.clock import now
from weft.engine.runs import queue, states
from weft.engine.writes.commits import writer_for
from weft.ids import new_id
from weft.store.db import Database
from weft.store.tables import (
    Execution,
    NotificationDelivery,
    NotificationSubscription,
    Step,
)

pytestmark = pytest.mark.integration

NODE = SimpleNamespace(id="2", type="transform", name="Odd")


async def _record(db: Database, template: dict[str, Any], value: Any) -> dict[str, Any]:
    """`value` written every way a run records JSON; what each column reads back."""
    row = {**template, "id": new_id(), "input": value}
    run = queue.Claimed(**{name: row[name] for name in queue.CLAIMED_FIELDS})

    def step(iteration: str, **data: Any) -> dict[str, Any]:
        return queue.new_step_row(
            execution_id=run.id, node=NODE, iteration=iteration, started_at=now(), **data
        )

    def commit(steps: list[dict[str, Any]], **values: Any) -> queue.FencedWrite:
        return queue.step_commit(
            execution_id=run.id, owner="w1", attempt=1, steps=steps, lease_s=30, **values
        )

    writer = writer_for(db)
    inserted = commit([step("0", status="succeeded", input=value, output=value)], insert=row)
    assert await writer.apply([inserted]) == [True]
    assert await writer.apply([commit([step("1", status="failed", error=value)], response=value)])
    async with db.transaction() as session:
        await session.execute(update(Execution).where(Execution.id == run.id).values(error=value))
    async with db.reading() as session:
        execution = await session.get(Execution, run.id)
        steps = {
            s.status: s
            for s in await session.scalars(select(Step).where(Step.execution_id == run.id))
        }
    assert execution is not None
    return {
        "input": execution.input,
        "response": execution.response,
        "error": execution.error,
        "step input": steps["succeeded"].input,
        "step output": steps["succeeded"].output,
        "step error": steps["failed"].error,
    }


async def test_every_string_a_run_records_reads_back_valid(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    workflow = await publish(client, tenant, [MANUAL_START])
    started = (await execute(client, tenant, workflow, {})).json()["execution_id"]
    async with db.reading() as session:
        source = await session.get(Execution, started)
        columns = {c.name: getattr(source, c.name) for c in Execution.__table__.columns}
    template = {
        **columns,
        "status": states.RUNNING,
        "lease_owner": "w1",
        "attempt": 1,
        "due_at": now(),
        "idempotency_key": None,
    }
    loop = asyncio.get_running_loop()

    @settings(max_examples=60, deadline=None, database=None)
    @given(odd_json())
    def stored_and_read_back(value: Any) -> None:
        read = asyncio.run_coroutine_threadsafe(_record(db, template, value), loop).result()
        want = expected(value)
        assert read == dict.fromkeys(read, want)

    # Hypothesis drives its examples from a thread; each is recorded on the test's own loop.
    await asyncio.to_thread(stored_and_read_back)


async def test_error_text_quoting_an_outside_answer_is_stored_valid(
    db: Database, tenant: Tenant
) -> None:
    moment, subscription, delivery = now(), new_id(), new_id()
    async with db.transaction() as session:
        session.add(
            NotificationSubscription(
                id=subscription,
                org_id=tenant.org_id,
                environment="test",
                url="http://127.0.0.1:9/hook",
                events=["Workflow Completed"],
                secret_sealed="sealed",
                created_at=moment,
                updated_at=moment,
            )
        )
        await session.flush()
        session.add(
            NotificationDelivery(
                id=delivery,
                subscription_id=subscription,
                event="Workflow Completed",
                payload={"output": "a\x00\ud800"},
                status="failed",
                attempts=1,
                last_error="HTTP 500: k\ud800 \x00",
                created_at=moment,
                updated_at=moment,
            )
        )
    async with db.reading() as session:
        row = await session.get(NotificationDelivery, delivery)
    assert row is not None
    assert (row.last_error, row.payload) == (
        "HTTP 500: k\ufffd \ufffd",
        {"output": "a\ufffd\ufffd"},
    )
