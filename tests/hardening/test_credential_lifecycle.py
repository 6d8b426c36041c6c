"""Credentials die when they should: with the key that minted them, and mid-stream."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from engine.flows import BASE, execute, publish
from graphs import MANUAL_START
from support import Tenant, assert_envelope, wait_until
from weft.api.deps import app_state
from weft.api.executions import CREDENTIAL_RECHECK_S
from weft.store.db import Database
from weft.tenancy.orgs import rotate_api_key

pytestmark = pytest.mark.integration


async def test_rotating_the_org_key_revokes_session_tokens_minted_under_it(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    assert (await client.get(f"{BASE}/workflow", headers=tenant.bearer)).status_code == 200
    async with db.transaction() as session:
        rotated = await rotate_api_key(tenant.org_id, "test", session=session)
    assert rotated.revoked_session_tokens == 1
    refused = await client.get(f"{BASE}/workflow", headers=tenant.bearer)
    assert_envelope(refused, 401)
    old_key = await client.get(f"{BASE}/workflow", headers=tenant.org_key)
    assert_envelope(old_key, 401)
    minted = await client.post(
        f"{BASE}/session-token",
        json={"linked_account_id": tenant.account_id},
        headers={"x-api-key": rotated.api_key},
    )
    fresh = {"Authorization": f"Bearer {minted.json()['token']}"}
    assert (await client.get(f"{BASE}/workflow", headers=fresh)).status_code == 200


async def test_event_stream_ends_within_seconds_of_token_revocation(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    workflow = await publish(client, tenant, [MANUAL_START])
    # No engine runs here: the execution stays queued, so its stream would never end by itself.
    execution_id = (await execute(client, tenant, workflow, {})).json()["execution_id"]

    async def revoke_soon() -> None:
        # Revoke once the stream is open (its GET is checked before this runs again): a revoked
        # token is then noticed by the stream's own re-check, which is what this test is about.
        await asyncio.sleep(0.3)
        answer = await client.post(
            f"{BASE}/session-token/revoke", json={"token": tenant.token}, headers=tenant.org_key
        )
        assert answer.json() == {"revoked": 1}

    began = time.monotonic()
    revoker = asyncio.create_task(revoke_soon())
    stream = await asyncio.wait_for(
        client.get(f"{BASE}/execution/{execution_id}/events", headers=tenant.bearer), timeout=30
    )
    await revoker
    # Unnoticed, the stream of a queued run never ends (the 30 s above fails it); noticed, it
    # ends within a re-check period. Generous slack for a loaded machine still tells the two apart.
    assert time.monotonic() - began < 0.3 + CREDENTIAL_RECHECK_S + 5
    assert "event: error" in stream.text and "revoked" in stream.text


async def test_deleting_the_account_ends_its_open_stream_with_an_error_event(
    client: httpx.AsyncClient, tenant: Tenant, app: Any
) -> None:
    workflow = await publish(client, tenant, [MANUAL_START])
    # No engine runs here: the execution stays queued, so its stream stays open.
    execution_id = (await execute(client, tenant, workflow, {})).json()["execution_id"]
    # The org key stays valid after the deletion: only the run's disappearing ends the stream.
    stream = asyncio.create_task(
        client.get(f"{BASE}/execution/{execution_id}/events", headers=tenant.as_org())
    )
    wakeups = app_state(app).services.wakeups
    await wait_until(lambda: wakeups.waiting_on(execution_id), what="the stream waiting on the run")
    deleted = await client.delete(
        f"{BASE}/linked-account/{tenant.account_id}", headers=tenant.org_key
    )
    assert deleted.status_code == 200, deleted.text
    ended = await asyncio.wait_for(stream, timeout=30)
    assert ended.status_code == 200
    assert ended.text.rstrip().split("\n\n")[-1].startswith("event: error"), ended.text
    assert "not found" in ended.text.lower()
