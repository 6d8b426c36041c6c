"""The benchmark's SQL counter: exact counts when on, no listener at all when off."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from weft.store import sql_counter
from weft.store.db import Database
from weft.store.sql_counter import SqlCounter, read_totals

pytestmark = pytest.mark.integration


async def test_sql_counter_counts_statements_and_transactions(db: Database, tmp_path: Path) -> None:
    counter = SqlCounter(tmp_path / "1.json")
    counter.attach(db.engine.sync_engine)
    before = dict(counter.counts)
    async with db.transaction() as session:
        await session.execute(text("SELECT 1"))
        await session.execute(text("SELECT 2"))
    async with db.reading() as session:
        await session.execute(text("SELECT 3"))
    counter.flush()
    totals = read_totals(tmp_path)
    assert totals["statements"] - before["statements"] == 3  # BEGIN is not a statement
    assert totals["transactions"] - before["transactions"] == 2


def test_sql_counter_attaches_nothing_when_off(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.delenv(sql_counter.ENV_VAR, raising=False)
    database = Database(sqlite_url)
    assert sql_counter._counter is None
    assert len(database.engine.sync_engine.dispatch.before_cursor_execute) == 0


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
def test_read_totals_sums_every_process_file(tmp_path: Path) -> None:
    (tmp_path / "1.json").write_text('{"statements": 3, "transactions": 1}')
    (tmp_path / "2.json").write_text('{"statements": 4, "transactions": 2}')
    (tmp_path / "3.tmp").write_text("not counted")
    assert read_totals(tmp_path) == {"statements": 7, "transactions": 3}
