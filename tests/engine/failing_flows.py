"""A workflow that fails on demand, and the org's limit of failed runs in a row."""

from __future__ import annotations

from typing import Any

import httpx

from engine.flows import BASE
from graphs import MANUAL_START, edge, node
from support import Tenant


def fails_when_asked(start: dict[str, Any] = MANUAL_START) -> tuple[list[Any], list[Any]]:
    """A workflow that fails when its trigger says `fail: true` and succeeds otherwise."""
    nodes = [
        start,
        node("2", "condition", "Asked to fail", expression="trigger.fail = true"),
        node("3", "end", "Fail", status="failed"),
        node("4", "transform", "Fine", value="ok"),
    ]
    return nodes, [edge("1", "2"), edge("2", "3", "true"), edge("2", "4", "false")]


async def set_pause_after(client: httpx.AsyncClient, tenant: Tenant, limit: int) -> None:
    answer = await client.put(
        f"{BASE}/org/settings", json={"pause_after_failures": limit}, headers=tenant.org_key
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["pause_after_failures"] == limit
