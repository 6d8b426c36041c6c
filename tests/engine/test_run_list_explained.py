"""The execution list tells runs apart: trigger kind, a redacted payload summary, filters and
search (issue #22 point 9)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.flows import BASE, finished, publish, run
from graphs import node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration


async def listed(client: httpx.AsyncClient, tenant: Tenant, query: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{BASE}/execution?{query}", headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["docs"])


async def test_run_rows_say_how_they_started_and_what_came_in_without_secrets(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    hook = node("1", "start", "Start", trigger="webhook")
    wf = await publish(client, tenant, [hook, node("2", "transform", "T", value=1)])
    path = (await client.get(f"{BASE}/workflow/{wf}", headers=tenant.bearer)).json()["webhook_path"]
    delivered = await client.post(path, json={"order": "o-77", "api_key": "sk_live_hidden"})
    assert delivered.status_code == 202, delivered.text
    by_hook = await finished(client, tenant, delivered.json()["execution_id"])
    by_api = await run(
        client, tenant, wf, {"email": "Ada@Example.com", "password": "hunter2", "n": 3}
    )
    tested = await client.post(
        f"{BASE}/workflow/{wf}/test", json={"payload": {"probe": "t-1"}}, headers=tenant.bearer
    )
    assert tested.status_code == 200, tested.text

    rows = {r["_id"]: r for r in await listed(client, tenant, f"workflow_id={wf}")}
    assert set(rows) == {by_hook["_id"], by_api["_id"]}  # test runs only when asked for
    assert rows[by_api["_id"]]["trigger_kind"] == "api"
    assert rows[by_api["_id"]]["payload_summary"] == (
        'email: "Ada@Example.com", n: 3, password: "[redacted]"'
    )
    hook_row = rows[by_hook["_id"]]
    assert hook_row["trigger_kind"] == "webhook"
    assert hook_row["payload_summary"] == 'api_key: "[redacted]", order: "o-77"'  # the body

    # Filters: by kind (repeatable; asking for test runs lists them), by text, by id.
    kinds = await listed(client, tenant, f"workflow_id={wf}&trigger_kind=webhook")
    assert [r["_id"] for r in kinds] == [by_hook["_id"]]
    tests_only = await listed(client, tenant, f"workflow_id={wf}&trigger_kind=test")
    assert [r["trigger_kind"] for r in tests_only] == ["test"]
    assert tests_only[0]["payload_summary"].startswith('probe: "t-1"')
    both = await listed(client, tenant, f"workflow_id={wf}&trigger_kind=api&trigger_kind=webhook")
    assert len(both) == 2
    found = await listed(client, tenant, f"workflow_id={wf}&search=ada%40example")
    assert [r["_id"] for r in found] == [by_api["_id"]]  # any case
    assert [r["_id"] for r in await listed(client, tenant, f"search={by_hook['_id']}")] == [
        by_hook["_id"]
    ]
    assert await listed(client, tenant, f"workflow_id={wf}&search=%25") == []  # no wildcard
    assert await listed(client, tenant, f"workflow_id={wf}&search=nothing-like-it") == []


async def test_unknown_trigger_kind_is_refused_in_the_envelope(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    answer = await client.get(
        f"{BASE}/execution?trigger_kind=carrier-pigeon", headers=tenant.bearer
    )
    assert_envelope(answer, 400, "INVALID_INPUT")
    too_long = await client.get(f"{BASE}/execution?search={'x' * 201}", headers=tenant.bearer)
    assert_envelope(too_long, 400, "INVALID_INPUT")


async def test_search_stays_inside_the_account(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any, engine: Engine
) -> None:
    other = await make_tenant()
    wf = await publish(client, other, [node("1", "start", "Start")])
    theirs = await run(client, other, wf, {"marker": "only-theirs"})
    assert await listed(client, tenant, "search=only-theirs") == []
    assert await listed(client, tenant, f"search={theirs['_id']}") == []
