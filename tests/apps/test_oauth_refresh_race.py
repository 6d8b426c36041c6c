"""OAuth refresh is single-flight per connection across processes (issue 26, finding 5).

The provider rotates refresh tokens and accepts each once. An expired access token meets many
concurrent calls from this process and from a second process on the same database: one
refresh reaches the provider, every call succeeds, and the connection stays connected. A
refusal after another process's refresh is not an expiry. Both databases.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from asyncio.subprocess import PIPE
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from actions_support import scope_of
from fastapi import FastAPI
from oauth_server import OAuthTestServer
from oauth_steps import connect_in_browser
from refresh_calls import fire_calls
from sqlalchemy import update

from support import Tenant
from weft.api.deps import app_state
from weft.apps.access import usable_credentials
from weft.apps.connections import open_credentials
from weft.apps.oauth import redirect_uri
from weft.apps.refresh import refresh_holding_lease
from weft.clock import now
from weft.store.tables import Connection

pytestmark = pytest.mark.integration

APP = "/api/v2/public/application/hubspot"
CALLS_EACH = 20
SCRIPT = Path(__file__).with_name("refresh_calls.py")


@pytest.fixture
def provider(app: FastAPI) -> Iterator[OAuthTestServer]:
    server = OAuthTestServer(expires_in=3600)
    server.register(redirect_uri(app_state(app).settings))
    yield server
    server.close()


async def test_concurrent_calls_in_two_processes_refresh_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    provider: OAuthTestServer,
) -> None:
    settings = app_state(app).settings
    configured = await client.put(
        f"{APP}/settings", json=provider.app_settings(), headers=tenant.org_key
    )
    assert configured.status_code == 200, configured.text
    assert (await connect_in_browser(client, APP, tenant.bearer)).status_code == 200
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    async with app_state(app).db.transaction() as session:  # the access token is due
        await session.execute(
            update(Connection)
            .where(Connection.linked_account_pk == scope.linked_account_pk)
            .values(expires_at=now() - timedelta(hours=1))
        )

    job = {"scope": asdict(scope), "count": CALLS_EACH}
    env = {
        **os.environ,
        "WEFT_DATABASE_URL": settings.resolved_database_url,
        "WEFT_DATA_DIR": str(settings.data_dir),
        "WEFT_OUTBOUND_ALLOW": "127.0.0.1",
    }
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        json.dumps(job),
        env=env,
        stdin=PIPE,
        stdout=PIPE,
        stderr=PIPE,
    )
    try:
        assert other.stdin is not None and other.stdout is not None
        ready = await other.stdout.readline()
        assert ready == b"ready\n", ready + (await other.communicate())[1]
        other.stdin.write(b"go\n")  # both processes call at once from here
        await other.stdin.drain()
        here = await fire_calls(app_state(app).services, scope, CALLS_EACH)
        out, err = await other.communicate()
    finally:
        if other.returncode is None:
            other.kill()
            await other.wait()
    assert other.returncode == 0, err.decode()
    there = json.loads(out.decode().strip().splitlines()[-1])["errors"]

    assert here == [] and there == []
    assert len(provider.state.refresh_attempts) == 1, provider.state.refresh_attempts
    assert provider.state.grants_seen == ["authorization_code", "refresh_token"]
    fresh = provider.state.tokens[1].access_token
    calls = provider.state.api_calls
    assert len(calls) == 2 * CALLS_EACH and set(calls) == {fresh}
    shown = (await client.get(APP, headers=tenant.bearer)).json()
    assert shown["connected"] is True and shown["reauth_required"] is False


async def test_a_refusal_after_another_refresh_is_not_an_expiry(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, provider: OAuthTestServer
) -> None:
    """A process whose lease lapsed (a slow provider) spends a refresh token another process
    already rotated: the refusal hands it the other's tokens, and nothing expires."""
    services = app_state(app).services
    await client.put(f"{APP}/settings", json=provider.app_settings(), headers=tenant.org_key)
    assert (await connect_in_browser(client, APP, tenant.bearer)).status_code == 200
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    async with services.db.reading() as session:
        stale = await open_credentials(
            scope, "hubspot", session=session, settings=services.settings
        )
    assert stale is not None
    kwargs = {"db": services.db, "settings": services.settings, "outbound": services.outbound}
    other = await usable_credentials(scope, "hubspot", force_refresh=True, **kwargs)
    assert provider.state.tokens[0].revoked  # rotated: the stale refresh token is dead

    info, values = await refresh_holding_lease(scope, "hubspot", stale, **kwargs)
    assert provider.state.refresh_attempts[-1] == stale[1]["refresh_token"]  # refused there
    assert values["access_token"] == other.values["access_token"]
    assert info.status == "connected"
    shown = (await client.get(APP, headers=tenant.bearer)).json()
    assert shown["connected"] is True and shown["reauth_required"] is False
