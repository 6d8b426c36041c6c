"""Rate limits per API key, per session token and per source address for failed sign-ins."""

from __future__ import annotations

import ipaddress
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select

from engine.flows import BASE, publish
from graphs import node
from support import Tenant, TenantFactory, assert_envelope
from weft.api import mcp_protocol
from weft.api.deps import app_state
from weft.app import create_app
from weft.apps.oauth import CALLBACK_PATH
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import RateWindow
from weft.tenancy import rate_limits
from weft.tenancy.connect_links import PORTAL_PATH
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
    async def make(address: str = "10.0.0.1", **limits: object) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update=limits), db=db)
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://weft.test") as http:
                yield http
        finally:
            await app_state(app).services.close()

    return make


def unique_address() -> str:
    """An address no other test counts against (PostgreSQL keeps one session's windows)."""
    return str(ipaddress.IPv4Address(0x0A000000 + secrets.randbelow(1 << 24)))


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
    async with limited(unique_address(), rate_limit_failed_auth=3) as attacker:
        for _ in range(3):
            assert_envelope(await attacker.get(f"{BASE}/workflow", headers=wrong), 401)
        assert_limited(await attacker.get(f"{BASE}/workflow", headers=wrong))
    async with limited(unique_address(), rate_limit_failed_auth=3) as neighbour:
        assert_envelope(await neighbour.get(f"{BASE}/workflow", headers=wrong), 401)


async def test_failed_sign_ins_never_refuse_valid_credentials_from_the_same_address(
    limited: ClientFactory, make_tenant: TenantFactory
) -> None:
    # Everyone behind one NAT, proxy or load balancer shares its address: one of them guessing
    # keys must not lock the others out (before: their valid keys got 429 for the minute).
    first, second = await make_tenant(), await make_tenant()
    wrong_key, wrong_token = {"x-api-key": "weft_test_wrong"}, {"Authorization": "Bearer bad"}
    async with limited(unique_address(), rate_limit_failed_auth=3) as shared:
        answers = [
            (await shared.get(f"{BASE}/workflow", headers=headers)).status_code
            for headers in [wrong_key, wrong_token] * 4
        ]
        assert answers == [401] * 3 + [429] * 5
        for tenant in (first, second):
            listed = await shared.get(f"{BASE}/linked-account", headers=tenant.org_key)
            assert listed.status_code == 200, listed.text
            mine = await shared.get(f"{BASE}/workflow", headers=tenant.bearer)
            assert mine.status_code == 200, mine.text
        assert_limited(await shared.get(f"{BASE}/workflow", headers=wrong_key))
        assert_limited(await shared.post(f"{mcp_protocol.PREFIX}/bad-token/bad-server", json={}))


async def test_forwarded_for_from_an_untrusted_peer_never_changes_the_address(
    limited: ClientFactory,
) -> None:
    wrong = {"x-api-key": "weft_test_wrong"}
    # The default trusts no proxy; a list without this peer trusts it no more.
    for trusted in ("", "10.0.0.1,192.168.0.0/16"):
        peer = unique_address()
        async with limited(peer, rate_limit_failed_auth=3, trusted_proxies=trusted) as http:
            answers = []
            for _ in range(6):
                forged = {**wrong, "x-forwarded-for": f"{unique_address()}, {unique_address()}"}
                answers.append((await http.get(f"{BASE}/workflow", headers=forged)).status_code)
            assert answers == [401] * 3 + [429] * 3


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    limited: ClientFactory,
) -> None:
    wrong = {"x-api-key": "weft_test_wrong"}
    proxy, client = "172.16.0.1", unique_address()
    async with limited(proxy, rate_limit_failed_auth=3, trusted_proxies="172.16.0.0/24") as http:
        answers = []
        for _ in range(5):
            # What the client wrote is left of the hop its proxy appended: never believed.
            hops = f"{unique_address()}, {client}, 172.16.0.2"
            forwarded = {**wrong, "x-forwarded-for": hops}
            answers.append((await http.get(f"{BASE}/workflow", headers=forwarded)).status_code)
        assert answers == [401] * 3 + [429] * 2
        other = {**wrong, "x-forwarded-for": unique_address()}
        assert_envelope(await http.get(f"{BASE}/workflow", headers=other), 401)
        # Without the header the proxy itself is the client.
        assert_envelope(await http.get(f"{BASE}/workflow", headers=wrong), 401)


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


async def live_hook(client: httpx.AsyncClient, tenant: Tenant) -> str:
    workflow_id = await publish(client, tenant, [node("1", "start", "Start", trigger="webhook")])
    got = await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
    return str(got.json()["webhook_path"])


async def test_each_webhook_has_its_own_allowance(
    limited: ClientFactory, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    async with limited(unique_address(), rate_limit_webhook=2) as client:
        busy, quiet = await live_hook(client, tenant), await live_hook(client, tenant)
        assert [(await client.post(busy, json={})).status_code for _ in range(2)] == [202, 202]
        assert_limited(await client.post(busy, json={}))
        assert (await client.post(quiet, json={})).status_code == 202


async def test_wrong_hook_secrets_are_throttled_per_address_and_live_hooks_still_answer(
    limited: ClientFactory, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    async with limited(unique_address(), rate_limit_failed_auth=3) as client:
        hook = await live_hook(client, tenant)
        guesses = [
            (await client.post(f"/hooks/{secrets.token_urlsafe(24)}", json={})).status_code
            for _ in range(5)
        ]
        assert guesses == [404] * 3 + [429] * 2
        assert (await client.post(hook, json={})).status_code == 202


async def test_editor_page_with_bad_tokens_is_throttled_and_valid_tokens_still_open(
    limited: ClientFactory, tenant: Tenant
) -> None:
    async with limited(unique_address(), rate_limit_failed_auth=3) as client:
        workflow_id = await publish(client, tenant, [node("1", "start", "Start")])
        pages = [
            await client.get(f"/workflows/{workflow_id}", params={"token": f"bad-{n}"})
            for n in range(4)
        ]
        assert [page.status_code for page in pages] == [401, 401, 401, 429]
        refused = pages[-1]
        assert refused.headers["content-type"].startswith("text/html")
        assert "Too many failed attempts" in refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        page = await client.get(f"/workflows/{workflow_id}", params={"token": tenant.token})
        assert page.status_code == 200


async def test_oauth_callback_with_unknown_states_is_throttled(limited: ClientFactory) -> None:
    async with limited(unique_address(), rate_limit_failed_auth=3) as client:
        answers = [
            (await client.get(CALLBACK_PATH, params=query)).status_code
            for query in [{"state": "forged", "code": "c"}, {"state": "x", "error": "denied"}] * 2
        ]
        assert answers == [400, 400, 400, 429]
        assert (
            "too_many_attempts"
            in (await client.get(CALLBACK_PATH, params={"state": "forged", "code": "c"})).text
        )


async def test_refused_hits_cost_postgres_no_more_writes(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        limiter, limit, caller = RateLimiter(db), Limit("source address", 2), unique_address()
        for _ in range(2):
            await limiter.hit(limit, caller)
        for _ in range(20):  # a flood of refused guesses
            with pytest.raises(Exception, match="Too many requests"):
                await limiter.hit(limit, caller)
        async with db.reading() as session:
            stored = await session.scalar(
                select(RateWindow.hits).where(
                    RateWindow.bucket == rate_limits._bucket(limit, caller)
                )
            )
        assert stored == 3  # the first refusal's count; none of the rest was written
    finally:
        await db.dispose()


async def test_connect_portal_with_bad_links_is_throttled(limited: ClientFactory) -> None:
    async with limited(unique_address(), rate_limit_failed_auth=3) as client:
        pages = [await client.get(PORTAL_PATH, params={"token": f"bad-{n}"}) for n in range(4)]
        assert [page.status_code for page in pages] == [401, 401, 401, 429]
        assert "Too many failed attempts" in pages[-1].text
