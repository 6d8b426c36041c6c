"""Ids that keep working: the `_id` create answers names the workflow on every route, for life."""

from __future__ import annotations

import httpx
import pytest

from engine.flows import BASE, finished
from graphs import chain, node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

START = node("1", "start", "Start", trigger="manual", sample_payload={"who": "sample"})
REPLY = node("2", "respond", "Reply", body={"hello": "{{ trigger.who }}"})
GRAPH = {"nodes": [START, REPLY], "edges": chain(START, REPLY)}


async def test_creates_id_resolves_on_every_route_for_the_workflows_whole_life(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    auth = tenant.bearer
    created = (await client.post(f"{BASE}/workflow", json={"name": "Seeds"}, headers=auth)).json()
    cid = created["workflow"]["_id"]
    workflow_id = created["workflow"]["associated_workflow"]

    # The seeds' create -> edit -> publish -> execute, with nothing but create's id.
    assert (await client.get(f"{BASE}/workflow/{cid}/edit", headers=auth)).status_code == 200
    saved = await client.put(f"{BASE}/workflow/{cid}/draft", json=GRAPH, headers=auth)
    assert saved.status_code == 200, saved.text
    published = await client.put(
        f"{BASE}/workflow/{cid}/publish", json={"published": True}, headers=auth
    )
    assert published.status_code == 200, published.text

    # Publishing ended create's draft; its id still names the workflow everywhere.
    sync = await client.post(
        f"{BASE}/workflow/{cid}/execute",
        json={"payload": {"who": "ada"}},
        headers={**auth, "sync_execution": "true"},
    )
    assert sync.status_code == 200, sync.text
    assert sync.json() == {"hello": "ada"}
    got = await client.get(f"{BASE}/workflow/{cid}", headers=auth)
    assert got.status_code == 200 and got.json()["_id"] == workflow_id
    for path in (
        f"/workflow/versions/{cid}",
        f"/workflow/request-structure/{cid}",
        f"/execution?workflow_id={cid}",
    ):
        answer = await client.get(f"{BASE}{path}", headers=auth)
        assert answer.status_code == 200, (path, answer.text)
    (run,) = (await client.get(f"{BASE}/execution?workflow_id={cid}", headers=auth)).json()["docs"]
    assert run["workflow_id"] == workflow_id
    tested = await client.post(f"{BASE}/workflow/{cid}/test", headers=auth)
    assert tested.status_code == 200 and tested.json()["status"] == "COMPLETED", tested.text
    renamed = await client.patch(f"{BASE}/workflow/{cid}", json={"name": "Seeds 2"}, headers=auth)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Seeds 2"
    restored = await client.post(f"{BASE}/workflow/{cid}/versions/1/restore", headers=auth)
    assert restored.status_code == 200, restored.text
    offline = await client.put(
        f"{BASE}/workflow/{cid}/publish", json={"published": False}, headers=auth
    )
    assert offline.status_code == 200 and offline.json()["published"] is False
    deleted = await client.delete(f"{BASE}/workflow/{cid}", headers=auth)
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    gone = await client.get(f"{BASE}/workflow/{cid}", headers=auth)
    assert_envelope(gone, 404, "WORKFLOW_NOT_FOUND")


async def test_a_later_drafts_id_after_publishing_says_the_draft_is_gone(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    auth = tenant.bearer
    created = (await client.post(f"{BASE}/workflow", headers=auth)).json()["workflow"]
    workflow_id = created["associated_workflow"]
    await client.put(f"{BASE}/workflow/{workflow_id}/draft", json=GRAPH, headers=auth)
    await client.put(f"{BASE}/workflow/{workflow_id}/publish", headers=auth)
    second = (await client.get(f"{BASE}/workflow/{workflow_id}/edit", headers=auth)).json()
    draft_id = second["_id"]
    assert draft_id not in (workflow_id, created["_id"])
    assert (await client.put(f"{BASE}/workflow/{draft_id}/publish", headers=auth)).is_success
    for answer in (
        await client.post(f"{BASE}/workflow/{draft_id}/execute", headers=auth),
        await client.get(f"{BASE}/workflow/{draft_id}", headers=auth),
    ):
        body = assert_envelope(answer, 404, "DRAFT_NOT_FOUND")
        assert "no longer exists" in body["message"] and workflow_id in body["message"]
        assert body["workflow_id"] == workflow_id
    # Create's id still works after a second publish.
    run = await client.post(f"{BASE}/workflow/{created['_id']}/execute", headers=auth)
    assert run.status_code == 200, run.text
    assert (await finished(client, tenant, run.json()["execution_id"]))["status"] == "COMPLETED"


async def test_another_accounts_create_id_stays_not_found(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: object, engine: Engine
) -> None:
    created = (await client.post(f"{BASE}/workflow", headers=tenant.bearer)).json()["workflow"]
    await client.put(f"{BASE}/workflow/{created['_id']}/draft", json=GRAPH, headers=tenant.bearer)
    await client.put(f"{BASE}/workflow/{created['_id']}/publish", headers=tenant.bearer)
    other = await make_tenant("acct-b", org_id=tenant.org_id)  # type: ignore[operator]
    answer = await client.post(f"{BASE}/workflow/{created['_id']}/execute", headers=other.bearer)
    assert_envelope(answer, 404, "WORKFLOW_NOT_FOUND")
