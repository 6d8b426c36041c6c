"""No secret in any API answer, log line, workflow export, or the database file in clear."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from actions_support import publish_chain
from fake_api import FakeApi
from sqlalchemy.engine import make_url

from engine.flows import run
from graphs import node
from support import Tenant
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
SECRETS = {
    "stripe": "sk_live_LEAKCANARY_stripe_5f2e9a",
    "http": "LEAKCANARY-http-key-8c1d",
    "client": "LEAKCANARY-oauth-client-secret-4b7e",
    "ai": "LEAKCANARY-ai-key-93aa",
}


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


async def test_secrets_never_leave_in_clear(
    client: httpx.AsyncClient,
    tenant: Tenant,
    engine: Engine,
    fake: FakeApi,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[httpx.Response] = []

    async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
        response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        answers.append(response)
        return response

    await call(
        "PUT",
        f"{BASE}/application/stripe/settings",
        json={"base_url": fake.url},
        headers=tenant.org_key,
    )
    await call(
        "PUT",
        f"{BASE}/application/hubspot/settings",
        json={"client_id": "cid", "client_secret": SECRETS["client"]},
        headers=tenant.org_key,
    )
    await call(
        "PUT",
        f"{BASE}/settings/ai",
        json={"base_url": fake.url, "model": "m", "api_key": SECRETS["ai"]},
        headers=tenant.org_key,
    )
    await call(
        "POST",
        f"{BASE}/application/stripe/connection",
        json={"credentials": {"api_key": SECRETS["stripe"]}},
        headers=tenant.bearer,
    )
    await call(
        "POST",
        f"{BASE}/application/http/connection",
        json={
            "credentials": {
                "base_url": fake.url,
                "header_name": "Authorization",
                "api_key": SECRETS["http"],
            }
        },
        headers=tenant.bearer,
    )
    await call("POST", f"{BASE}/application/hubspot/connection", json={}, headers=tenant.bearer)
    fake.answer("GET", "/v1/customers/cus_1", {"id": "cus_1"})
    fake.answer("POST", "/items", {"created": True})
    fake.answer("GET", "/v1/fail", {"error": "no"}, status=500)
    nodes = [
        node("1", "start", "Start", trigger="manual"),
        node("2", "app_action", "Customer", app="stripe", action="get_customer",
             params={"customer": "cus_1"}),
        node("3", "app_action", "Create", app="http", action="post",
             params={"path": "items", "body": {"a": 1}}),
        node("4", "http", "Failing", url=f"{fake.url}/v1/fail", connection="stripe",
             on_error="continue"),
    ]  # fmt: skip
    published = await publish_chain(client, tenant, nodes)
    answers.append(published)
    workflow_id = published.workflow_id  # type: ignore[attr-defined]
    execution = await run(client, tenant, workflow_id)
    assert execution["status"] == "COMPLETED", execution
    assert [r.headers.get("authorization") for r in fake.requests][:2] == [
        f"Bearer {SECRETS['stripe']}",
        SECRETS["http"],
    ]
    for path in (
        f"{BASE}/application",
        f"{BASE}/application/stripe",
        f"{BASE}/application/hubspot",
        f"{BASE}/workflow/{workflow_id}",
        f"{BASE}/workflow/{workflow_id}/edit",
        f"{BASE}/execution",
        f"{BASE}/execution/{execution['_id'] if '_id' in execution else execution['id']}",
    ):
        answers.append(await call("GET", path, headers=tenant.bearer))
    answers.append(await call("GET", "/openapi.json"))

    for response in answers:
        for secret in SECRETS.values():
            assert secret not in response.text, (response.request.url, secret)
    for secret in SECRETS.values():
        assert secret not in caplog.text
    database = make_url(db_url).database
    if database:  # SQLite: the file and its write-ahead log, byte for byte
        for path in (Path(database), Path(f"{database}-wal")):
            if path.exists():
                raw = path.read_bytes()
                for secret in SECRETS.values():
                    assert secret.encode() not in raw, (path, secret)
