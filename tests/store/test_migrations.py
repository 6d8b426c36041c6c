"""`alembic upgrade head` on an empty database gives exactly the schema the models describe,
on SQLite and on PostgreSQL: tables, columns, types, indexes and the predicates of partial
indexes (which Alembic's comparison does not look at)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text

from support import DATABASES, asyncpg_url
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head
from weft.store.tables import Base

pytestmark = pytest.mark.integration


@pytest.fixture(params=DATABASES)
async def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A brand-new empty database of each kind, brought to head by the migrations alone."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"weft_migrations_{uuid.uuid4().hex[:8]}"
        server.psql(f"CREATE DATABASE {name};")
        url = asyncpg_url(server, name)
    await asyncio.to_thread(upgrade_to_head, url)  # Alembic runs its own event loop
    return url


def _normal(predicate: str) -> str:
    return re.sub(r"\s+", " ", predicate.replace("(", "").replace(")", "")).strip().lower()


def partial_index_predicates(connection: Connection) -> dict[str, str]:
    """Each partial index of the live database with its WHERE clause, normalised."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        )
    else:
        rows = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
    found = {}
    for name, definition in rows:
        if definition and " WHERE " in definition:
            found[name] = _normal(definition.split(" WHERE ", 1)[1])
    return found


def model_predicates(metadata: MetaData, dialect: str) -> dict[str, str]:
    """Each partial index the models declare for `dialect`, with its WHERE clause."""
    found = {}
    for table in metadata.tables.values():
        for index in table.indexes:
            where = index.dialect_options[dialect].get("where")
            if where is not None:
                found[str(index.name)] = _normal(str(where))
    return found


def schema_differences(connection: Connection, metadata: MetaData) -> list[Any]:
    """Everything in which the live schema and `metadata` differ (empty: they match)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    differences: list[Any] = list(compare_metadata(context, metadata))
    live = partial_index_predicates(connection)
    declared = model_predicates(metadata, connection.dialect.name)
    for name in sorted(set(live) | set(declared)):
        if live.get(name) != declared.get(name):
            differences.append(("index predicate", name, live.get(name), declared.get(name)))
    return differences


async def test_upgrade_head_matches_the_models(migrated_url: str) -> None:
    db = Database(migrated_url)
    try:
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(schema_differences, Base.metadata)
            tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    finally:
        await db.dispose()
    assert differences == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


async def test_the_comparison_notices_a_partial_index_that_lost_its_predicate(
    migrated_url: str,
) -> None:
    altered = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(altered)
    due = next(i for i in altered.tables["executions"].indexes if i.name == "ix_executions_due")
    for dialect in ("postgresql", "sqlite"):
        due.dialect_options[dialect]["where"] = None
    db = Database(migrated_url)
    try:
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(schema_differences, altered)
    finally:
        await db.dispose()
    assert [d[:2] for d in differences] == [("index predicate", "ix_executions_due")]


@pytest.fixture
def db_url(sqlite_url: str) -> str:  # the next test is about SQLite's own settings
    return sqlite_url


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database) -> None:
    async with db.engine.connect() as connection:
        journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    assert (journal, foreign_keys) == ("wal", 1)
