"""Secrets at rest and in logs: a private database file, redacted records, a clean access log."""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.flows import BASE, finished, publish, run, step
from engine.sink import Sink
from graphs import MANUAL_START, node
from support import Tenant
from weft.apps.service import prepare_database
from weft.engine.workers.host import Engine
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-value-never-stored"


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_embedded_database_file_is_0600_and_its_directory_0700(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "weft.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_to_head(url)

    async def write_something() -> None:
        db = Database(url)
        try:
            await prepare_database(db)  # writes: the WAL file appears
        finally:
            await db.dispose()

    asyncio.run(write_something())
    assert _mode(path.parent) == 0o700
    assert _mode(path) == 0o600
    for companion in path.parent.glob("weft.db-*"):
        assert _mode(companion) == 0o600, companion


async def test_http_node_credentials_are_sent_but_never_stored(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    url = sink.url.replace("http://", f"http://user:{SECRET}@") + f"/creds?api_key={SECRET}&x=1"
    call = node(
        "2",
        "http",
        "Call",
        method="POST",
        url=url,
        headers={"Authorization": f"Bearer {SECRET}", "X-Auth-Token": SECRET, "Accept": "a/b"},
        query={"access_token": SECRET, "page": "2"},
        body={"hello": "world"},
    )
    workflow = await publish(client, tenant, [MANUAL_START, call])
    done = await run(client, tenant, workflow, {})
    assert done["status"] == "COMPLETED", done
    sent = next(headers for path, _, headers in sink.requests if path == "/creds")
    assert sent["x-auth-token"] == SECRET and SECRET in str(sent)
    recorded = step(done, "2")["input"]
    assert SECRET not in str(recorded)  # (the sink echoes the query back: that output is its own)
    assert recorded["headers"]["Accept"] == "a/b" and recorded["query"]["page"] == "2"
    assert recorded["url"].startswith("http://[redacted]@") and "x=1" in recorded["url"]


async def test_a_failed_http_step_records_its_request_without_credentials(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    refused = sink.url.replace("http://", f"http://user:{SECRET}@") + f"/status/401?key={SECRET}"
    failing = [
        node("2", "http", "Refused", url=refused, on_error="continue"),
        node("3", "http", "Unrendered", url="{{ $error( 'no' ) }}", on_error="continue"),
    ]
    for call in failing:
        call["data"]["headers"] = {"Authorization": f"Bearer {SECRET}", "Accept": "a/b"}
        call["data"]["query"] = {"access_token": SECRET}
    workflow = await publish(client, tenant, [MANUAL_START, *failing])
    done = await run(client, tenant, workflow, {})
    assert done["status"] == "COMPLETED", done
    for node_id in ("2", "3"):
        recorded = step(done, node_id)
        assert recorded["error"], recorded
        assert SECRET not in str(recorded["input"]), recorded  # (the 401's echo is its own)
    assert step(done, "2")["input"]["headers"]["Accept"] == "a/b"


async def test_inbound_webhook_credentials_are_redacted_before_storage(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    hook = node("1", "start", "Start", trigger="webhook")
    workflow = await publish(client, tenant, [hook])
    path = (await client.get(f"{BASE}/workflow/{workflow}", headers=tenant.bearer)).json()[
        "webhook_path"
    ]
    answer = await client.post(
        f"{path}?api_key={SECRET}&order=7",
        json={"n": 1},
        headers={"x-auth-token": SECRET, "x-request-source": "shop"},
    )
    assert answer.status_code == 202, answer.text
    done = await finished(client, tenant, answer.json()["execution_id"])
    assert SECRET not in str(done)
    stored = done["payload"]
    assert stored["query"]["order"] == "7" and stored["headers"]["x-request-source"] == "shop"


async def test_access_log_records_the_route_template_not_secrets_or_queries(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="weft.access"):
        await client.post(f"/hooks/{SECRET}?api_key={SECRET}", json={})
        await client.get(f"/nowhere/{SECRET}?token={SECRET}")
    lines = [r for r in caplog.records if r.name == "weft.access"]
    assert len(lines) == 2
    assert SECRET not in caplog.text
    assert lines[0].route == "/hooks/{secret}" and lines[0].status == 404
    assert lines[1].route == "(unmatched)"
    assert all(len(getattr(r, "request_id", "") or "") == 0 for r in lines)  # ids via formatter
