"""A workflow whose runs use a bit of everything metering counts (for the usage and quota tests)."""

from __future__ import annotations

import httpx

from engine.flows import BASE, finished, publish
from graphs import MANUAL_START, node
from support import Tenant


async def metered_flow(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """start, transform, code, and an app action whose connection is gone (it fails on its
    first attempt and the run goes on): 4 steps, 1 action call, some code time."""
    connection = f"{BASE}/application/stripe/connection"
    key = {"credentials": {"api_key": "sk_test_removed_later"}}
    assert (await client.post(connection, json=key, headers=tenant.bearer)).status_code == 200
    action = node(
        "4", "app_action", "Get", app="stripe", action="get_customer", params={"customer": "c"}
    )
    action["data"]["on_error"] = "continue"
    nodes = [
        MANUAL_START,
        node("2", "transform", "Double", value="{{ trigger.n * 2 }}"),
        node("3", "code", "Add", source="return input.nodes.double + 1;"),
        action,
    ]
    workflow_id = await publish(client, tenant, nodes)
    assert (await client.delete(connection, headers=tenant.bearer)).status_code == 200
    return workflow_id


async def run_once(client: httpx.AsyncClient, tenant: Tenant, workflow_id: str) -> str:
    started = await client.post(
        f"{BASE}/workflow/{workflow_id}/execute", json={"payload": {"n": 2}}, headers=tenant.bearer
    )
    assert started.status_code == 200, started.text
    execution_id = started.json()["execution_id"]
    assert (await finished(client, tenant, execution_id))["status"] == "COMPLETED"
    return str(execution_id)
