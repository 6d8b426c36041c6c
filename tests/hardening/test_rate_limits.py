"""Rate limits per API key, per session token and per source address for failed sign-ins."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from engine.flows import BASE
from support import Tenant, TenantFactory, assert_envelope
from weft.api.deps import app_state
from weft.app import create_app
from weft.settings import Settings
from weft.store.db import Database
from weft.tenancy import rate_limits
from weft.tenancy.rate_limits import Limit, RateLimiter

pytestmark = pytest.mark.integration

ClientFactory = Callable[..., "AsyncIterator[httpx.AsyncClient]"]


@pytest.fixture
def limited(settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> ClientFactory:
    """A client of an app with low limits, calling from `address`, all in one window."""
    # Windows are fixed minutes of the wall clock: a test that a loaded machine stretches across
    # a minute's end would rightly start counting afresh and miss its 429. The window is frozen
    # at the test's start instead, so what is checked is only the counting within a window.
    frozen = time.time()
    monkeypatch.setattr(
        rate_limits, "_window", lambda limit: int(frozen // limit.window_s) * limit.window_s
    )

    @asynccontextmanager
    async def make(address: str = "10.0.0.1", **limits: int) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update=limits), db=db)
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://weft.test") as http:
                yield http
        finally:
            await app_state(app).services.close()

    return make


def assert_limited(answer: httpx.Response) -> None:
    body = assert_envelope(answer, 429, "RATE_LIMITED")
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert body["retry_after"] == int(answer.headers["retry-after"])


async def test_api_key_past_its_allowance_gets_429_and_others_do_not(
    limited: ClientFactory, make_tenant: TenantFactory
) -> None:
    noisy, quiet = await make_tenant(), await make_tenant()
    async with limited(rate_limit_api_key=3) as client:
        for _ in range(3):
            ok = await client.get(f"{BASE}/linked-account", headers=noisy.org_key)
            assert ok.status_code == 200, ok.text
        assert_limited(await client.get(f"{BASE}/linked-account", headers=noisy.org_key))
        assert (
            await client.get(f"{BASE}/linked-account", headers=quiet.org_key)
        ).status_code == 200


async def test_session_token_past_its_allowance_gets_429(
    limited: ClientFactory, tenant: Tenant
) -> None:
    async with limited(rate_limit_session_token=2) as client:
        for _ in range(2):
            assert (await client.get(f"{BASE}/workflow", headers=tenant.bearer)).status_code == 200
        assert_limited(await client.get(f"{BASE}/workflow", headers=tenant.bearer))


async def test_repeated_failed_authentication_blocks_that_source_address_only(
    limited: ClientFactory, tenant: Tenant
) -> None:
    wrong = {"Authorization": "Bearer not-a-token"}
    async with limited("10.0.0.9", rate_limit_failed_auth=3) as attacker:
        for _ in range(3):
            assert_envelope(await attacker.get(f"{BASE}/workflow", headers=wrong), 401)
        assert_limited(await attacker.get(f"{BASE}/workflow", headers=wrong))
        # Past the allowance even a valid credential from that address waits for the window.
        assert_limited(await attacker.get(f"{BASE}/workflow", headers=tenant.bearer))
    async with limited("10.0.0.10", rate_limit_failed_auth=3) as neighbour:
        assert (await neighbour.get(f"{BASE}/workflow", headers=tenant.bearer)).status_code == 200


async def test_default_limits_leave_ordinary_use_alone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(50):
        assert (await client.get(f"{BASE}/workflow", headers=tenant.bearer)).status_code == 200


async def test_postgres_windows_are_shared_by_every_process(postgres_url: str) -> None:
    first, second = Database(postgres_url), Database(postgres_url)
    try:
        limit = Limit("API key", 4)
        caller = "weft_test_shared-between-processes"
        for limiter in (RateLimiter(first), RateLimiter(second)) * 2:
            await limiter.hit(limit, caller)
        with pytest.raises(Exception, match="Too many requests"):
            await RateLimiter(first).hit(limit, caller)
    finally:
        await first.dispose()
        await second.dispose()
