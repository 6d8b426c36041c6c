"""`Workflow Errored` throttled per workflow, and `Workflow Paused` once, to a real receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from notification_sink import NotificationSink
from sqlalchemy import update

from engine.failing_flows import fails_when_asked, set_pause_after
from engine.flows import BASE, publish, run
from support import Tenant, running_app, wait_until
from weft.clock import now
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import WorkflowFailures

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sink() -> Iterator[NotificationSink]:
    server = NotificationSink()
    yield server
    server.close()


async def test_errored_is_throttled_per_workflow_and_paused_fires_once(
    settings: Settings, db: Database, tenant: Tenant, sink: NotificationSink
) -> None:
    path = f"/alerts/{uuid.uuid4().hex[:8]}"

    def received(event: str, workflow_id: str) -> list[dict[str, Any]]:
        bodies = [request.json() for request in sink.received_at(path)]
        return [b for b in bodies if b["event"] == event and b["workflow_id"] == workflow_id]

    async with running_app(settings, db, workflow_errored_window_s=3600) as client:
        await set_pause_after(client, tenant, 4)
        events = ["Workflow Errored", "Workflow Paused"]
        body = {"webhook_url": sink.url + path, "webhook_events": events}
        subscribed = await client.post(f"{BASE}/webhook", json=body, headers=tenant.org_key)
        assert subscribed.status_code == 200, subscribed.text
        wf = await publish(client, tenant, *fails_when_asked(), name="noisy")
        other = await publish(client, tenant, *fails_when_asked(), name="other")

        for _ in range(3):
            await run(client, tenant, wf, {"fail": True})
        await run(client, tenant, other, {"fail": True})
        await wait_until(lambda: received("Workflow Errored", other), what="other's alert")
        await wait_until(lambda: received("Workflow Errored", wf), what="the first alert")
        [first] = received("Workflow Errored", wf)
        assert first["suppressed"] == 0 and first["status"] == "FAILED"

        # The window passes (moved back in the database, not waited for): the next failure
        # alerts again, saying how many were held back, and it is the 4th in a row: it pauses.
        async with db.transaction() as session:
            await session.execute(
                update(WorkflowFailures)
                .where(WorkflowFailures.workflow_id == wf)
                .values(errored_sent_at=now() - timedelta(hours=2))
            )
        last = await run(client, tenant, wf, {"fail": True})
        await wait_until(lambda: received("Workflow Paused", wf), what="the pause alert")
        await wait_until(lambda: len(received("Workflow Errored", wf)) == 2, what="2nd alert")
        second = received("Workflow Errored", wf)[1]
        assert (second["suppressed"], second["execution_id"]) == (2, last["_id"])
        [paused] = received("Workflow Paused", wf)
        assert paused == {
            **paused,
            "workflow_id": wf,
            "execution_id": last["_id"],
            "failures": 4,
            "reason": "Ended by an end node",
            "linked_account_id": tenant.account_id,
        }
        refused = await client.post(f"{BASE}/workflow/{wf}/execute", json={}, headers=tenant.bearer)
        assert refused.status_code == 409
    assert len(received("Workflow Paused", wf)) == 1
    assert len(received("Workflow Errored", other)) == 1
