"""PostgreSQL's batch connections (weft.store.raw_postgres): pool, settings, value conversion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from weft.engine import fenced_postgres
from weft.store import raw_postgres
from weft.store.db import Database
from weft.store.tables import Step


@pytest.fixture
def db_url(postgres_url: str) -> str:  # this file runs on PostgreSQL only
    return postgres_url


async def test_batches_arriving_together_at_first_use_share_one_pool(db_url: str) -> None:
    database = Database(db_url)
    try:
        answers = await asyncio.gather(
            *(database.raw.fetch("SELECT $1::int + 1", [n]) for n in range(4))
        )
        assert [rows[0][0] for rows in answers] == [1, 2, 3, 4]
    finally:
        await database.dispose()


async def test_batch_connections_name_themselves_and_plan_once(db: Database) -> None:
    (row,) = await db.raw.fetch(
        "SELECT current_setting('application_name'), current_setting('plan_cache_mode')", []
    )
    assert tuple(row) == (raw_postgres.BATCH_APPLICATION_NAME, "force_generic_plan")


async def test_fenced_updates_reach_runs_by_key_even_when_planned_on_an_empty_table(
    db: Database,
) -> None:
    """A generic plan made while executions is empty must not scan it: it is kept as it grows."""
    shape = fenced_postgres._Shape(
        inserts=(), updates=(("status", "updated_at"),), steps=(), notify=False
    )
    statement = fenced_postgres._batch_sql(shape, db.engine.dialect)
    await db.raw.fetch("ANALYZE executions", [])  # what autovacuum records of a new table
    plan = "\n".join(
        row[0] for row in await db.raw.fetch(f"EXPLAIN (GENERIC_PLAN) {statement}", [None] * 7)
    )
    assert "Index Scan using pk_executions on executions" in plan, plan
    assert "Seq Scan" not in plan, plan


async def test_every_batch_statement_is_shown_to_observers(db: Database) -> None:
    seen: list[tuple[str, Any]] = []

    def observe(sql: str, arguments: Any) -> None:
        seen.append((sql, arguments))

    raw_postgres.statement_observers.append(observe)
    try:
        await db.raw.fetch("SELECT $1::text", ["x"])
    finally:
        raw_postgres.statement_observers.remove(observe)
    assert seen == [("SELECT $1::text", ["x"])]


async def test_json_goes_to_the_driver_as_sqlalchemy_would_write_it(db: Database) -> None:
    rows = raw_postgres.ArrayRows(Step.__table__, db.engine.dialect)
    # None is JSON null, not SQL NULL (SQLAlchemy's JSON default); keys that are not strings
    # become strings; integers past 64 bits and what json.dumps refuses go through SQLAlchemy.
    assert rows.array("output", [None, {1: [True, None]}, "ü", 2**70]) == [
        "null",
        '{"1":[true,null]}',
        '"ü"',
        str(2**70),
    ]
    with pytest.raises(TypeError):
        rows.array("output", [datetime.now(UTC)])
    moment = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert rows.array("started_at", [moment]) == [moment]
    (row,) = await db.raw.fetch(
        "SELECT (unnest($1::jsonb[]))->'1'->>0", [rows.array("output", [{1: ["a"]}])]
    )
    assert row[0] == "a"
