"""A chain of dependent writes in one test run: the chosen ones run for real, later steps see
their real answers, the others stay held back (issue #22, point 5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.billing import Billing
from engine.flows import BASE, create_draft, step
from graphs import node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

START = node("1", "start", "Start", trigger="manual", sample_payload={"plan": "gold"})


@pytest.fixture
def billing() -> Billing:
    server = Billing()
    yield server
    server.close()


async def chain_workflow(client: httpx.AsyncClient, tenant: Tenant, billing: Billing) -> str:
    """Start → Create customer (POST) → Subscribe (POST with the new id) → Report."""
    base = f"{billing.url}/{tenant.org_id}"
    create = node(
        "2", "http", "Create customer", method="POST", url=f"{base}/customers", body={"n": 1}
    )
    subscribe = node(
        "3",
        "http",
        "Subscribe",
        method="POST",
        url=f"{base}/subscriptions",
        body={"customer": "{{ nodes.create_customer.body.id }}", "plan": "{{ trigger.plan }}"},
    )
    report = node("4", "transform", "Report", value="{{ nodes.subscribe.body }}")
    return await create_draft(client, tenant, [START, create, subscribe, report])


async def test_run(
    client: httpx.AsyncClient, tenant: Tenant, workflow_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{BASE}/workflow/{workflow_id}/test", json=body, headers=tenant.bearer
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED", response.text
    return dict(response.json())


test_run.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


async def test_both_writes_chosen_run_for_real_and_the_second_gets_the_first_ones_id(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, billing: Billing
) -> None:
    workflow_id = await chain_workflow(client, tenant, billing)
    customers, subscriptions = f"/{tenant.org_id}/customers", f"/{tenant.org_id}/subscriptions"

    # One by id, one by its name as the editor shows it: both name a step.
    done = await test_run(client, tenant, workflow_id, run_for_real=["2", "Subscribe"])

    assert billing.posts(customers) == [{"n": 1}]
    assert billing.posts(subscriptions) == [{"customer": "cus_1", "plan": "gold"}]
    assert step(done, "2")["node_status"] == "COMPLETED"
    assert step(done, "3")["node_status"] == "COMPLETED"
    assert step(done, "4")["latest_output"] == {"subscribed": {"customer": "cus_1", "plan": "gold"}}

    # "all" runs every write for real in one run, as the editor's confirmed "Run all" does.
    await test_run(client, tenant, workflow_id, run_for_real="all")
    assert billing.posts(subscriptions)[-1] == {"customer": "cus_2", "plan": "gold"}


async def test_a_write_not_chosen_stays_held_back_with_the_real_answer_before_it(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, billing: Billing
) -> None:
    workflow_id = await chain_workflow(client, tenant, billing)
    customers, subscriptions = f"/{tenant.org_id}/customers", f"/{tenant.org_id}/subscriptions"

    safe = await test_run(client, tenant, workflow_id)
    assert billing.received == []
    held = step(safe, "3")
    assert held["node_status"] == "SKIPPED"
    assert held["latest_output"]["would_send"]["body"]["customer"] is None  # the placeholder

    first_only = await test_run(client, tenant, workflow_id, run_for_real=["create_customer"])
    assert billing.posts(customers) == [{"n": 1}] and billing.posts(subscriptions) == []
    held = step(first_only, "3")
    assert held["node_status"] == "SKIPPED"
    assert held["latest_output"]["would_send"]["body"] == {"customer": "cus_1", "plan": "gold"}


async def test_run_for_real_naming_no_step_is_refused_with_the_names(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, billing: Billing
) -> None:
    workflow_id = await chain_workflow(client, tenant, billing)
    url = f"{BASE}/workflow/{workflow_id}/test"

    answer = await client.post(
        url, json={"run_for_real": ["2", "Refund", "9"]}, headers=tenant.bearer
    )

    body = assert_envelope(answer, 400, "NODE_NOT_FOUND")
    assert body["unknown"] == ["9", "Refund"] and body["field"] == "run_for_real"
    assert '"Refund"' in body["message"] and '"9"' in body["message"]
    other = await client.post(url, json={"run_for_real": "some"}, headers=tenant.bearer)
    assert_envelope(other, 400)
    assert billing.received == []


async def test_openapi_documents_run_for_real_and_its_400(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    test = schema["paths"][f"{BASE}/workflow/{{workflow_id}}/test"]["post"]
    field = schema["components"]["schemas"]["TestIn"]["properties"]["run_for_real"]
    assert {"type": "array", "items": {"type": "string"}, "maxItems": 500} in field["anyOf"]
    assert {"type": "string", "const": "all"} in field["anyOf"]
    assert "by name" in field["description"]
    assert "NODE_NOT_FOUND" in test["responses"]["400"]["description"]
