"""A process whose every pooled PostgreSQL connection stays busy past the pool's timeout answers
503 in the envelope, not 500, and serves again once a connection is handed back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from support import Tenant, assert_envelope
from weft.api.deps import app_state
from weft.app import create_app
from weft.settings import Settings
from weft.store.db import Database

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"


@pytest.fixture
def db_url(postgres_url: str) -> str:
    """PostgreSQL only: SQLite's pool is not sized from the connection budget."""
    return postgres_url


@pytest.fixture
async def starved(settings: Settings) -> AsyncIterator[tuple[Database, httpx.AsyncClient]]:
    """An app on the smallest budget (a pool of 2, no overflow) that waits 0.2 s for one."""
    database = Database(str(settings.database_url), connections=4, pool_timeout_s=0.2)
    app = create_app(settings, db=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://weft.test") as client:
        yield database, client
    await app_state(app).services.close()
    await database.dispose()


async def test_an_exhausted_pool_answers_503_and_serves_again_once_freed(
    starved: tuple[Database, httpx.AsyncClient], tenant: Tenant
) -> None:
    database, client = starved
    assert (database.budget.pool_size, database.budget.pool_overflow) == (2, 0)
    held = [await database.engine.connect() for _ in range(2)]
    try:
        refused = await client.get(f"{BASE}/workflow", headers=tenant.bearer)
    finally:
        for connection in held:
            await connection.close()
    served = await client.get(f"{BASE}/workflow", headers=tenant.bearer)

    assert_envelope(refused, 503)
    assert refused.json()["error_code"] == "DATABASE_BUSY"
    assert refused.headers["retry-after"] == "1"
    assert served.status_code == 200, served.text
