"""PostgreSQL's batch connections (weft.store.raw_postgres): pool, settings, value conversion."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from support import asyncpg_url
from weft.engine.writes import fenced_postgres
from weft.store import raw_postgres
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head
from weft.store.tables import Step

pytestmark = pytest.mark.integration


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


@pytest.fixture
def empty_database_url(postgres_server: Any) -> str:
    """A database of its own: the shared one holds other tests' runs, whose statistics (few due
    among many finished) lead the planner elsewhere than the empty table this test is about."""
    name = f"weft_empty_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(f"CREATE DATABASE {name};")
    url = asyncpg_url(postgres_server, name)
    upgrade_to_head(url)
    return url


async def test_fenced_updates_reach_runs_by_key_even_when_planned_on_an_empty_table(
    empty_database_url: str,
) -> None:
    """A generic plan made while executions is empty must not scan it: it is kept as it grows."""
    db = Database(empty_database_url)
    try:
        await _assert_fenced_update_plan_is_keyed(db)
    finally:
        await db.dispose()


async def _assert_fenced_update_plan_is_keyed(db: Database) -> None:
    shape = fenced_postgres._Shape(
        inserts=(), updates=(("status", "updated_at"),), steps=(), notify=False
    )
    statement = fenced_postgres._batch_sql(shape, db.engine.dialect)
    await db.raw.fetch("ANALYZE executions", [])  # what autovacuum records of a new table
    plan = "\n".join(
        row[0] for row in await db.raw.fetch(f"EXPLAIN (GENERIC_PLAN) {statement}", [None] * 3)
    )
    # The batch's runs found through the primary key, not the whole table (or index) read.
    keyed = r"Index Scan using pk_executions on executions e.*\n\s*Index Cond: \(\(id\)::text = ANY"
    assert re.search(keyed, plan), plan
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


async def test_documents_carry_values_as_sqlalchemy_would_write_them(db: Database) -> None:
    dialect, table = db.engine.dialect, Step.__table__
    rows = raw_postgres.RecordRows(table, dialect)
    moment = datetime(2026, 12, 5, 12, 0, 0, 123000, tzinfo=UTC)
    outputs = [None, {1: [True, None]}, "ü", 2**70]
    document = rows.document(
        ("output", "started_at"), [{"output": v, "started_at": moment} for v in outputs]
    )
    # None is JSON null, not SQL NULL (SQLAlchemy's JSON default); keys that are not strings
    # become strings; integers past 64 bits and what json.dumps refuses go through SQLAlchemy.
    assert [record["output"] for record in json.loads(document)] == [
        "null",
        '{"1":[true,null]}',
        '"ü"',
        str(2**70),
    ]
    with pytest.raises(TypeError):
        rows.document(("output",), [{"output": datetime.now(UTC)}])
    source = raw_postgres.recordset_from(
        table, ("output", "started_at"), dialect, raw_postgres.Placeholders()
    )
    output = raw_postgres.value_of(table, "output", dialect)
    read = await db.raw.fetch(
        f"SELECT {output} IS NULL, jsonb_typeof({output}), {output}, v.started_at FROM {source}",
        [document],
    )
    assert [tuple(row) for row in read] == [
        (False, "null", "null", moment),
        (False, "object", '{"1": [true, null]}', moment),
        (False, "string", '"ü"', moment),
        (False, "number", str(2**70), moment),
    ]
