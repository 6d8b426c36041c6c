"""OAuth2 client credentials: an imported app's token fetched with the connection's id/secret."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from actions_support import connect_with_key, run_action, scope_of
from fake_api import FakeApi, Request
from fastapi import FastAPI

from support import Tenant
from weft.nodes.runtime import NodeFailure

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


def machine_api(url: str) -> dict[str, Any]:
    flows = {"clientCredentials": {"tokenUrl": f"{url}/token", "scopes": {"jobs:read": "read"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Machine", "version": "1"},
        "servers": [{"url": url}],
        "components": {"securitySchemes": {"cc": {"type": "oauth2", "flows": flows}}},
        "security": [{"cc": ["jobs:read"]}],
        "paths": {
            "/jobs": {
                "get": {"operationId": "listJobs", "responses": {"200": {"description": "ok"}}}
            }
        },
    }


async def test_client_credentials_token_is_fetched_once_and_sent(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    imported = await client.post(
        f"{BASE}/application/import",
        json={"document": machine_api(fake.url), "slug": "machine"},
        headers=tenant.org_key,
    )
    assert imported.status_code == 200, imported.text
    shown = (await client.get(f"{BASE}/application/machine", headers=tenant.bearer)).json()
    assert shown["auth_type"] == "keybased"
    assert [f["name"] for f in shown["auth_input_map"]] == ["client_id", "client_secret"]

    def token(request: Request) -> tuple[int, Any]:
        return 200, {"access_token": f"tok-{len(fake.requests)}", "expires_in": 3600}

    fake.answer("POST", "/token", token)
    fake.answer("GET", "/jobs", [{"id": 1}])
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "machine", {"client_id": "cid", "client_secret": "cs"})
    first = await run_action(app, scope, "machine", "list_jobs", {})
    second = await run_action(app, scope, "machine", "list_jobs", {})
    assert first.output == second.output == [{"id": 1}]
    posted, called, again = fake.requests
    assert posted.form() == {
        "grant_type": "client_credentials",
        "scope": "jobs:read",
        "client_id": "cid",
        "client_secret": "cs",
    }
    assert called.headers["authorization"] == again.headers["authorization"] == "Bearer tok-1"


async def _import_machine(client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi) -> None:
    imported = await client.post(
        f"{BASE}/application/import",
        json={"document": machine_api(fake.url), "slug": "machine"},
        headers=tenant.org_key,
    )
    assert imported.status_code == 200, imported.text


# What real token endpoints have been seen to send (raw JSON text: Python's json reads NaN).
@pytest.mark.parametrize(
    "expires_in", ["NaN", "Infinity", "1e20", '"99999999999999999999"', '"soon"', "0", "-5", "true"]
)
async def test_an_odd_expires_in_neither_fails_the_call_nor_refetches_every_time(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, expires_in: str
) -> None:
    await _import_machine(client, tenant, fake)
    answer = f'{{"access_token": "tok", "expires_in": {expires_in}}}'.encode()
    fake.answer("POST", "/token", answer)
    fake.answer("GET", "/jobs", [{"id": 1}])
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "machine", {"client_id": "cid", "client_secret": "cs"})
    for _ in range(2):
        assert (await run_action(app, scope, "machine", "list_jobs", {})).output == [{"id": 1}]
    assert [request.path for request in fake.requests] == ["/token", "/jobs", "/jobs"]


@pytest.mark.parametrize("token", ["null", '""', "123", '{"value": "tok"}'])
async def test_a_token_answer_without_a_usable_access_token_fails_the_step_clearly(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, token: str
) -> None:
    await _import_machine(client, tenant, fake)
    fake.answer("POST", "/token", f'{{"access_token": {token}}}'.encode())
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "machine", {"client_id": "cid", "client_secret": "cs"})
    with pytest.raises(NodeFailure, match="without an access_token"):
        await run_action(app, scope, "machine", "list_jobs", {})
    assert [request.path for request in fake.requests] == ["/token"]
