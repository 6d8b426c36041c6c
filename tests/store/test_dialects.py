"""Each dialect method on its own database (weft.store.dialects): what it does, not its SQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import exists, make_url, select, update

from weft.apps.catalog import create_default_app
from weft.store.db import Database
from weft.store.dialects import DIALECTS, PostgresDialect, dialect_for_url, dialect_of
from weft.store.raw_postgres import asyncpg_connect_arguments
from weft.store.tables import Org, RateWindow
from weft.tenancy.orgs import create_org

pytestmark = pytest.mark.integration


async def test_a_database_has_one_dialect_object_found_the_same_from_a_session(
    db: Database,
) -> None:
    assert db.dialect is DIALECTS[db.engine.dialect.name]
    assert dialect_for_url(db.url) is db.dialect
    async with db.transaction() as session:
        assert dialect_of(session) is db.dialect
        assert await session.run_sync(lambda sync: dialect_of(sync.connection())) is db.dialect
    async with db.reading() as session:
        assert dialect_of(session) is db.dialect


async def test_json_list_contains_matches_whole_entries_only(db: Database) -> None:
    async with db.transaction() as session:
        org = (
            await create_org(
                f"org {uuid.uuid4().hex[:6]}", add_default_app=create_default_app, session=session
            )
        ).org
        allowed = ["https://a.example", "https://b.example"]
        await session.execute(
            update(Org).where(Org.id == org.id).values(settings={"allowed_origins": allowed})
        )

    async def listed(origin: str) -> bool:
        condition = db.dialect.json_list_contains("orgs.settings", "allowed_origins", origin)
        query = select(exists().select_from(Org).where(Org.id == org.id, condition))
        async with db.reading() as session:
            return bool(await session.scalar(query))

    assert await listed("https://b.example")
    assert not await listed("https://a.example.evil")
    assert not await listed("https://a")
    assert not await listed('"https://a.example"')


async def test_insert_upserts_and_returns_the_new_count(db: Database) -> None:
    bucket = f"test:{uuid.uuid4().hex}"
    statement = (
        db.dialect.insert(RateWindow)
        .values(bucket=bucket, window_start=60, hits=1)
        .on_conflict_do_update(
            index_elements=[RateWindow.bucket, RateWindow.window_start],
            set_={"hits": RateWindow.hits + 1},
        )
        .returning(RateWindow.hits)
    )
    counts = []
    for _ in range(3):
        async with db.transaction() as session:
            counts.append((await session.execute(statement)).scalar_one())
    assert counts == [1, 2, 3]


async def test_notifications_reach_a_listener_at_commit_or_are_not_sent_at_all(
    db: Database,
) -> None:
    channel = f"weft_test_{uuid.uuid4().hex[:8]}"
    if not db.dialect.notifies:
        async with db.transaction() as session:  # nothing sent, nothing fails
            await db.dialect.notify(session, channel)
            await session.run_sync(
                lambda sync: db.dialect.notify_sync(sync.connection(), channel, "x")
            )
        with pytest.raises(NotImplementedError):
            await db.dialect.listen(db.engine, {}, lambda _up: None)
        return
    heard: asyncio.Queue[str] = asyncio.Queue()
    up = asyncio.Event()
    states: list[bool] = []

    def connected(is_up: bool) -> None:
        states.append(is_up)
        if is_up:
            up.set()

    listening = asyncio.create_task(
        db.dialect.listen(db.engine, {channel: heard.put_nowait}, connected)
    )
    try:
        await asyncio.wait_for(up.wait(), 30)
        async with db.transaction() as session:
            await db.dialect.notify(session, channel)
            await session.run_sync(
                lambda sync: db.dialect.notify_sync(sync.connection(), channel, "answered:1")
            )
            assert heard.empty()  # not before the commit
        assert await asyncio.wait_for(heard.get(), 30) == ""
        assert await asyncio.wait_for(heard.get(), 30) == "answered:1"
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
    assert states == [True, False]


@pytest.fixture
def postgres_db_url(postgres_url: str) -> str:
    return postgres_url


async def test_a_claimed_row_is_skipped_by_another_claimer(postgres_db_url: str) -> None:
    database = Database(postgres_db_url)
    assert isinstance(database.dialect, PostgresDialect)
    try:
        async with database.transaction() as session:
            ids = [
                (
                    await create_org(
                        f"org {uuid.uuid4().hex[:6]}",
                        add_default_app=create_default_app,
                        session=session,
                    )
                ).org.id
                for _ in range(2)
            ]
        query = database.dialect.skipping_taken_rows(
            select(Org.id).where(Org.id.in_(ids)).order_by(Org.id)
        )
        async with database.transaction() as first:
            assert (await first.scalars(query.limit(1))).all() == [min(ids)]
            async with database.transaction() as second:
                assert (await second.scalars(query)).all() == [max(ids)]
    finally:
        await database.dispose()


async def test_asyncpg_arguments_come_from_the_url_without_sqlalchemy_only_ones(
    postgres_db_url: str,
) -> None:
    import asyncpg

    url = make_url(postgres_db_url).update_query_dict({"prepared_statement_cache_size": "0"})
    database = Database(url.render_as_string(hide_password=False))
    try:
        arguments = asyncpg_connect_arguments(database.engine)
        assert "prepared_statement_cache_size" not in arguments
        connection = await asyncpg.connect(**arguments)
        try:
            assert await connection.fetchval("SELECT 1") == 1
        finally:
            await connection.close()
    finally:
        await database.dispose()
