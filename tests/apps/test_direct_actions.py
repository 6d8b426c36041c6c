"""Direct actions (`/api/v2/integration-schema/{slug}/actions...`) against a fake Stripe on
127.0.0.1: Refold's shapes, the schema check, the app_action node's path, audit and metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from actions_support import connect_with_key, scope_of
from fake_api import FakeApi
from fastapi import FastAPI

from support import Tenant, TenantFactory, assert_envelope
from weft.observability.metrics import REGISTRY

pytestmark = pytest.mark.integration

STRIPE_KEY = "sk_test_51DirectActionSecret0042"
BASE = "/api/v2/integration-schema/stripe/actions"


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


async def _stripe_connected(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "stripe", {"api_key": STRIPE_KEY})
    response = await client.put(
        "/api/v2/public/application/stripe/settings",
        json={"base_url": fake.url},
        headers=tenant.org_key,
    )
    assert response.status_code == 200, response.text


def _count(status: str) -> float:
    value = REGISTRY.get_sample_value(
        "weft_direct_action_duration_seconds_count", {"source": "api", "status": status}
    )
    return value or 0.0


async def test_actions_list_and_parameters_in_refold_shapes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    listed = await client.get(BASE, headers=tenant.bearer)
    assert listed.status_code == 200, listed.text
    by_id = {action["id"]: action for action in listed.json()}
    assert by_id["get_customer"] == {
        "id": "get_customer",
        "name": "Get customer",
        "description": "",
        "effect": "read",
    }
    assert by_id["create_customer"]["effect"] == "write"
    one = await client.get(f"{BASE}/create_payment_intent", headers=tenant.as_org())
    assert one.status_code == 200, one.text
    fields = {field["name"]: field for field in one.json()}
    assert fields["amount"]["required"] is True and fields["amount"]["type"] == "number"
    assert fields["amount"]["description"] == "In the smallest currency unit"
    assert fields["description"]["required"] is False and fields["description"]["type"] == "text"
    assert fields["metadata"]["type"] == "json"
    unknown = await client.get(f"{BASE}/nope", headers=tenant.bearer)
    assert_envelope(unknown, 404, "ACTION_NOT_FOUND")
    missing = await client.get("/api/v2/integration-schema/nope/actions", headers=tenant.bearer)
    assert_envelope(missing, 404, "APP_NOT_FOUND")
    assert_envelope(await client.get(BASE), 401)


async def test_execute_calls_the_app_and_records_the_call_without_secrets(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    await _stripe_connected(app, client, tenant, fake)
    fake.answer("GET", "/v1/customers/cus_1", {"id": "cus_1", "email": "a@example.com"})
    before = _count("success")

    response = await client.post(
        f"{BASE}/get_customer/execute", json={"customer": "cus_1"}, headers=tenant.bearer
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"id": "cus_1", "email": "a@example.com"},
        "node_status": "Success",
        "http_status": 200,
    }
    (seen,) = fake.requests
    assert seen.path == "/v1/customers/cus_1"
    assert seen.headers["authorization"] == f"Bearer {STRIPE_KEY}"
    assert _count("success") == before + 1
    log = await client.get("/api/v2/public/audit-log", headers=tenant.org_key)
    (event,) = [e for e in log.json()["docs"] if e["action"] == "EXECUTE stripe.get_customer"]
    assert event["actor"] == "session_token" and event["linked_account_id"] == tenant.account_id
    assert event["target"]["params"] == {"customer": "cus_1"}
    assert event["target"]["answer"]["data"]["id"] == "cus_1"
    assert event["target"]["request"]["url"].endswith("/v1/customers/cus_1")
    assert STRIPE_KEY not in log.text


async def test_execute_with_org_key_and_a_failing_app(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    await _stripe_connected(app, client, tenant, fake)
    fake.answer("POST", "/v1/customers", {"error": {"message": "no"}}, status=402)
    response = await client.post(
        f"{BASE}/create_customer/execute",
        json={"email": "b@example.com", "api_key": "typed-by-the-caller"},
        headers=tenant.as_org(),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"error": {"message": "no"}},
        "node_status": "Failed",
        "http_status": 402,
    }
    log = await client.get("/api/v2/public/audit-log", headers=tenant.org_key)
    assert "typed-by-the-caller" not in log.text  # a credential-named parameter is redacted


async def test_execute_checks_parameters_before_calling(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    await _stripe_connected(app, client, tenant, fake)
    bad = await client.post(
        f"{BASE}/create_payment_intent/execute",
        json={"amount": "ten"},
        headers=tenant.bearer,
    )
    body = assert_envelope(bad, 400, "INVALID_PARAMETERS")
    assert any("currency" in reason for reason in body["reasons"])
    assert any("body.amount" in reason for reason in body["reasons"])
    not_object = await client.post(
        f"{BASE}/get_customer/execute", json=["cus_1"], headers=tenant.bearer
    )
    assert_envelope(not_object, 400, "INVALID_PARAMETERS")
    assert fake.requests == []


async def test_execute_without_a_connection_or_to_a_forbidden_address(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: TenantFactory,
    fake: FakeApi,
) -> None:
    other = await make_tenant("acct-b")
    no_connection = await client.post(
        f"{BASE}/get_customer/execute", json={"customer": "c"}, headers=other.bearer
    )
    assert_envelope(no_connection, 400, "CONNECTION_REQUIRED")
    # The outbound policy applies: a private address outside the allow-list is never reached.
    await _stripe_connected(app, client, tenant, fake)
    await client.put(
        "/api/v2/public/application/stripe/settings",
        json={"base_url": "http://10.255.255.1:9"},
        headers=tenant.org_key,
    )
    refused = await client.post(
        f"{BASE}/get_customer/execute", json={"customer": "c"}, headers=tenant.bearer
    )
    assert_envelope(refused, 502, "APP_CALL_FAILED")


async def test_execute_answers_non_finite_numbers_from_the_app_as_null(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    # Not JSON, but real APIs send it (Python's json.dumps writes NaN): null, never a 500.
    await _stripe_connected(app, client, tenant, fake)
    fake.answer("GET", "/v1/customers/cus_1", b'{"id": "cus_1", "balance": NaN, "cap": Infinity}')
    response = await client.post(
        f"{BASE}/get_customer/execute", json={"customer": "cus_1"}, headers=tenant.bearer
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"id": "cus_1", "balance": None, "cap": None}
    log = await client.get("/api/v2/public/audit-log", headers=tenant.org_key)
    assert log.status_code == 200, log.text
