"""Test helpers shared across folders (import them from here, never from `conftest`)."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from weft.api.deps import app_state
from weft.store.tables import Execution

# The databases every database test runs on (`WEFT_TEST_DATABASES=sqlite` while iterating).
DATABASES = [d for d in os.environ.get("WEFT_TEST_DATABASES", "sqlite,postgres").split(",") if d]


def asyncpg_url(server: Any, database: str) -> str:
    """The SQLAlchemy URL of `database` on an embedded PostgreSQL server."""
    # get_uri() gives postgresql://postgres:@/db?host=/socket/dir
    return server.get_uri(database=database).replace("postgresql://", "postgresql+asyncpg://", 1)


@dataclass
class Tenant:
    """An org with keys, and one linked account with a session token."""

    org_id: str
    keys: dict[str, str]
    account_id: str
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def org_key(self) -> dict[str, str]:
        return {"x-api-key": self.keys["test"]}

    def as_org(self, account_id: str | None = None) -> dict[str, str]:
        return {**self.org_key, "linked_account_id": account_id or self.account_id}


TenantFactory = Callable[..., Coroutine[Any, Any, Tenant]]


def assert_envelope(response: httpx.Response, status: int, error_code: str | None = None) -> dict:
    """The response is Refold's error envelope with this status (and code)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {
        "status_code",
        "http_error_type",
        "error_code",
        "error",
        "message",
        "request_id",
    }
    assert body["status_code"] == status
    assert body["error"] == body["error_code"], "Refold's `error` key repeats error_code"
    assert body["request_id"] == response.headers["x-request-id"]
    if error_code:
        assert body["error_code"] == error_code, body
    return body


async def wait_until(holds: Callable[[], object], timeout_s: float = 30, what: str = "") -> None:
    """Poll `holds()` (a value or an awaitable) until it is true; fail after `timeout_s`, which
    is generous so that a loaded machine only makes the wait longer, never a failure."""
    deadline = time.monotonic() + timeout_s
    while True:
        held = holds()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'the condition'} did not hold within {timeout_s} s")
        await asyncio.sleep(0.01)


# Settings that turn every rate limit off, for tests that call far more often than a person.
NO_RATE_LIMITS = {
    "rate_limit_api_key": 0,
    "rate_limit_session_token": 0,
    "rate_limit_failed_auth": 0,
    "rate_limit_webhook": 0,
}


@asynccontextmanager
async def running_app(settings: Any, db: Any, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built from `settings` with `changes`, with an in-process engine."""
    from weft.app import create_app
    from weft.engine.workers.host import Engine

    app = create_app(settings.model_copy(update=changes), db=db)
    engine = Engine(app_state(app).services)
    await engine.start(1)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://weft.test") as http:
            yield http
    finally:
        await engine.stop(grace_s=2)
        await app_state(app).services.close()


def record_outbound_dials(monkeypatch: Any) -> list[str]:
    """Every address weft.net's connector hands the socket layer to dial, recorded before it
    connects (aiohttp dials through aiohappyeyeballs; nothing else in Weft uses it)."""
    import aiohappyeyeballs

    seen: list[str] = []
    original = aiohappyeyeballs.start_connection

    async def spy(addr_infos: Any, **kwargs: Any) -> Any:
        seen.extend(str(info[4][0]) for info in addr_infos)
        return await original(addr_infos, **kwargs)

    monkeypatch.setattr(aiohappyeyeballs, "start_connection", spy)
    return seen


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def retire_queued_runs(db: Any) -> None:
    """The suite shares each database: cancel the runs other tests left due (queued, or killed
    while running: a running row's `due_at` is its lease's end), so none rides in this test's
    batches or is claimed by its workers."""
    async with db.transaction() as session:
        await session.execute(
            update(Execution)
            .where(Execution.due_at.is_not(None))
            .values(status="cancelled", due_at=None, lease_owner=None)
        )
