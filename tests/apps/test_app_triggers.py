"""App triggers end to end: polling a fake Stripe, GitHub webhooks with subscribe/unsubscribe.

The poller is driven one round at a time (`run_due_app_triggers`), with a row made due by
hand where a test would otherwise wait out the poll interval.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from actions_support import connect_with_key, connect_with_token, publish_chain, scope_of
from fake_api import FakeApi
from fastapi import FastAPI
from sqlalchemy import select, update

from engine.flows import BASE, finished, step
from graphs import node
from support import Tenant, assert_envelope, wait_until
from weft.api.deps import app_state
from weft.clock import now
from weft.engine.starts.app_triggers import claim_due_app_triggers, run_due_app_triggers
from weft.engine.starts.app_triggers import work_app_trigger as work
from weft.engine.workers.host import Engine, build_services
from weft.store.db import Database
from weft.store.tables import AppTrigger, Execution

pytestmark = pytest.mark.integration

STRIPE_KEY = "sk_test_poll_41"


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


def _app_start(app: str, trigger: str, **params: Any) -> dict[str, Any]:
    return node("1", "start", "Start", trigger="app", app=app, app_trigger=trigger, params=params)


async def _point_at(client: httpx.AsyncClient, tenant: Tenant, slug: str, url: str) -> None:
    answer = await client.put(
        f"{BASE}/application/{slug}/settings", json={"base_url": url}, headers=tenant.org_key
    )
    assert answer.status_code == 200, answer.text


async def _row(db: Database, workflow_id: str) -> AppTrigger | None:
    async with db.reading() as session:
        return await session.scalar(select(AppTrigger).where(AppTrigger.workflow_id == workflow_id))


async def _make_due(db: Database, workflow_id: str) -> None:
    async with db.transaction() as session:
        stmt = update(AppTrigger).where(AppTrigger.workflow_id == workflow_id)
        await session.execute(stmt.values(due_at=now()))


async def _runs(db: Database, workflow_id: str) -> list[Execution]:
    async with db.reading() as session:
        stmt = select(Execution).where(Execution.workflow_id == workflow_id)
        return list(await session.scalars(stmt.order_by(Execution.created_at, Execution.id)))


async def _polled(db: Database, workflow_id: str) -> bool:
    """No poll holds the trigger and its next one is ahead: the last poll has ended."""
    row = await _row(db, workflow_id)
    return bool(row and row.lease_owner is None and row.due_at and row.due_at > now())


def _charges(*ids: str) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": i, "amount": 100} for i in reversed(ids)]}


async def _polling_workflow(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> str:
    await _point_at(client, tenant, "stripe", fake.url)
    await connect_with_key(app, await scope_of(app, tenant.org_id, tenant.account_id), "stripe",
                           {"api_key": STRIPE_KEY})  # fmt: skip
    nodes = [_app_start("stripe", "new_charge"), node("2", "transform", "Amount",
                                                      value="{{ trigger.amount }}")]  # fmt: skip
    published = await publish_chain(client, tenant, nodes)
    assert published.status_code == 200, published.text
    return str(published.workflow_id)


async def test_polling_starts_one_run_per_new_item_after_a_baseline(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, db: Database
) -> None:
    services = app_state(app).services
    fake.answer("GET", "/v1/charges", _charges("ch_old1", "ch_old2"))
    workflow_id = await _polling_workflow(app, client, tenant, fake)
    row = await _row(db, workflow_id)
    assert row is not None and row.status == "starting"

    await run_due_app_triggers(services)  # the baseline: what exists already is not new
    row = await _row(db, workflow_id)
    assert row is not None and row.status == "live" and row.kind == "polling"
    assert row.due_at is not None and row.due_at > now() and await _runs(db, workflow_id) == []
    (first,) = fake.requests
    assert first.query == {"limit": "100"}
    assert first.headers["authorization"] == f"Bearer {STRIPE_KEY}"

    fake.answer("GET", "/v1/charges", _charges("ch_old1", "ch_old2", "ch_new1", "ch_new2"))
    assert await run_due_app_triggers(services) == 0  # not due yet
    await _make_due(db, workflow_id)
    await run_due_app_triggers(services)
    runs = await _runs(db, workflow_id)
    assert sorted(r.input["id"] for r in runs) == ["ch_new1", "ch_new2"]
    assert {r.trigger for r in runs} == {"app"}
    assert {r.idempotency_key for r in runs} == {
        f"poll:{workflow_id}:ch_new1",
        f"poll:{workflow_id}:ch_new2",
    }

    await _make_due(db, workflow_id)
    await run_due_app_triggers(services)  # nothing new
    assert len(await _runs(db, workflow_id)) == 2


async def test_a_poll_follows_pages_when_more_is_new_than_one_page_holds(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, db: Database
) -> None:
    services = app_state(app).services
    fake.answer("GET", "/v1/charges", _charges("ch_old"))
    workflow_id = await _polling_workflow(app, client, tenant, fake)
    await run_due_app_triggers(services)  # the baseline

    def paged(request: Any) -> tuple[int, Any]:
        # Newest first, two a page, as Stripe pages with `starting_after` and `has_more`.
        if request.query.get("starting_after") == "ch_new2":
            return 200, {"data": [{"id": "ch_new1"}, {"id": "ch_old"}], "has_more": False}
        return 200, {"data": [{"id": "ch_new3"}, {"id": "ch_new2"}], "has_more": True}

    fake.answer("GET", "/v1/charges", paged)
    await _make_due(db, workflow_id)
    await run_due_app_triggers(services)
    runs = await _runs(db, workflow_id)
    assert sorted(r.input["id"] for r in runs) == ["ch_new1", "ch_new2", "ch_new3"]
    assert [r.query.get("starting_after") for r in fake.requests[-2:]] == [None, "ch_new2"]


async def test_a_poller_that_lost_its_lease_starts_nothing_and_a_crash_refires_nothing(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, db: Database
) -> None:
    services = app_state(app).services
    fake.answer("GET", "/v1/charges", _charges("ch_1"))
    workflow_id = await _polling_workflow(app, client, tenant, fake)
    await run_due_app_triggers(services)
    fake.answer("GET", "/v1/charges", _charges("ch_1", "ch_2"))

    # A claims and stalls past its lease (or is killed: it never commits); B takes over.
    await _make_due(db, workflow_id)
    (stalled,) = await claim_due_app_triggers(services, 10)
    await _make_due(db, workflow_id)
    (taker,) = await claim_due_app_triggers(services, 10)
    await work(services, taker)
    await work(services, stalled)  # fenced out: its runs and state are not written
    runs = await _runs(db, workflow_id)
    assert [r.input["id"] for r in runs] == ["ch_2"]

    # A restarted process (services of its own, nothing in memory) polls the same answer.
    restarted = build_services(db, app_state(app).settings)
    try:
        await _make_due(db, workflow_id)
        await run_due_app_triggers(restarted)
    finally:
        await restarted.close()
    assert len(await _runs(db, workflow_id)) == 1


async def test_polled_item_runs_complete_with_the_item_as_trigger_output(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    fake: FakeApi,
    db: Database,
    engine: Engine,
) -> None:
    fake.answer("GET", "/v1/charges", _charges())
    workflow_id = await _polling_workflow(app, client, tenant, fake)
    services = app_state(app).services
    # The engine's own poller may take a due poll first: each step waits for the poll to end,
    # whoever made it (the baseline, above all, before the answer changes).
    await run_due_app_triggers(services)
    await wait_until(lambda: _polled(db, workflow_id), what="the baseline")
    fake.answer("GET", "/v1/charges", _charges("ch_9"))
    await _make_due(db, workflow_id)
    await run_due_app_triggers(services)
    await wait_until(lambda: _polled(db, workflow_id), what="the poll")
    (run,) = await _runs(db, workflow_id)
    done = await finished(client, tenant, run.id)
    assert done["status"] == "COMPLETED", done
    assert step(done, "1")["latest_output"] == {"id": "ch_9", "amount": 100}
    assert step(done, "2")["latest_output"] == 100


async def test_unpublishing_a_polling_workflow_removes_its_state(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, db: Database
) -> None:
    fake.answer("GET", "/v1/charges", _charges("ch_1"))
    workflow_id = await _polling_workflow(app, client, tenant, fake)
    await run_due_app_triggers(app_state(app).services)
    offline = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": False}, headers=tenant.bearer
    )
    assert offline.status_code == 200, offline.text
    assert await _row(db, workflow_id) is None
    await run_due_app_triggers(app_state(app).services)
    async with db.reading() as session:
        left = await session.scalar(select(AppTrigger).where(AppTrigger.org_id == tenant.org_id))
    assert left is None


async def test_publish_refuses_an_unknown_app_trigger(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    published = await publish_chain(client, tenant, [_app_start("stripe", "no_such_trigger")])
    body = assert_envelope(published, 422)
    (problem,) = body["errors"]
    assert problem["code"] == "UNKNOWN_TRIGGER" and "new_charge" in problem["message"]
    published = await publish_chain(client, tenant, [_app_start("github", "repository_event")])
    codes = {p["code"] for p in assert_envelope(published, 422)["errors"]}
    assert codes == {"MISSING_TRIGGER_PARAM"}  # owner and repo


def _github_signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_github_webhook_subscribes_checks_signatures_dedupes_and_unsubscribes(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, db: Database
) -> None:
    services = app_state(app).services
    await _point_at(client, tenant, "github", fake.url)
    await connect_with_token(
        app, await scope_of(app, tenant.org_id, tenant.account_id), "github", "gh-token-1"
    )
    fake.answer("POST", "/repos/acme/site/hooks", {"id": 4242, "active": True}, status=201)
    fake.answer("DELETE", "/repos/acme/site/hooks/4242", b"", status=204)
    start = _app_start("github", "repository_event", owner="acme", repo="site")
    published = await publish_chain(client, tenant, [start])
    assert published.status_code == 200, published.text
    workflow_id = str(published.workflow_id)

    await run_due_app_triggers(services)
    (subscribe,) = fake.requests
    config = subscribe.json()["config"]
    assert subscribe.headers["authorization"] == "Bearer gh-token-1"
    assert subscribe.json()["events"] == ["issues", "pull_request", "push"]
    path = "/hooks/app/" + config["url"].rsplit("/hooks/app/", 1)[1]
    shown = await client.get(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
    assert shown.json()["webhook_path"] == path
    row = await _row(db, workflow_id)
    assert row is not None and row.status == "live" and row.state["subscription_id"] == "4242"
    assert config["secret"] not in json.dumps(row.state)  # kept sealed

    body = json.dumps({"action": "opened", "issue": {"number": 1}}).encode()
    headers = {
        "x-github-delivery": "d-1",
        "x-github-event": "issues",
        "x-hub-signature-256": _github_signed(config["secret"], body),
        "content-type": "application/json",
    }
    first = await client.post(path, content=body, headers=headers)
    assert first.status_code == 202, first.text
    again = await client.post(path, content=body, headers=headers)  # a redelivery
    assert again.status_code == 202 and again.json()["duplicate"] is True
    assert again.json()["execution_id"] == first.json()["execution_id"]
    forged = await client.post(
        path, content=body, headers={**headers, "x-hub-signature-256": _github_signed("x", body)}
    )
    assert "does not match" in assert_envelope(forged, 401, "INVALID_SIGNATURE")["message"]
    unsigned = {k: v for k, v in headers.items() if k != "x-hub-signature-256"}
    assert_envelope(await client.post(path, content=body, headers=unsigned), 401)
    (run,) = await _runs(db, workflow_id)
    assert run.input == {"action": "opened", "issue": {"number": 1}}

    offline = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": False}, headers=tenant.bearer
    )
    assert offline.status_code == 200
    assert_envelope(await client.post(path, content=body, headers=headers), 404)
    await run_due_app_triggers(services)
    assert [(r.method, r.path) for r in fake.requests][-1] == (
        "DELETE",
        "/repos/acme/site/hooks/4242",
    )
    async with db.reading() as session:
        assert (
            await session.scalar(select(AppTrigger).where(AppTrigger.org_id == tenant.org_id))
            is None
        )


async def test_slack_webhook_reads_the_orgs_signing_secret(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    published = await publish_chain(client, tenant, [_app_start("slack", "event")])
    assert published.status_code == 200, published.text
    shown = await client.get(f"{BASE}/workflow/{published.workflow_id}", headers=tenant.bearer)
    path = shown.json()["webhook_path"]
    body = json.dumps({"event_id": "Ev1", "event": {"type": "message"}}).encode()
    stamp = str(int(now().timestamp()))
    signed = hmac.new(b"slack-signing", b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    headers = {"x-slack-signature": "v0=" + signed.hexdigest(), "x-slack-request-timestamp": stamp}
    missing = await client.post(path, content=body, headers=headers)
    assert_envelope(missing, 401, "WEBHOOK_SECRET_NOT_SET")
    await client.put(
        f"{BASE}/application/slack/settings",
        json={"webhook_secret": "slack-signing"},
        headers=tenant.org_key,
    )
    accepted = await client.post(path, content=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    not_json = await client.post(path, content=b"x", headers=headers)
    assert_envelope(not_json, 401, "INVALID_SIGNATURE")  # the signature is checked first

    # Slack proves the URL with a signed url_verification: echoed, and no run starts.
    proof = json.dumps({"type": "url_verification", "challenge": "c-42"}).encode()
    signed = hmac.new(b"slack-signing", b"v0:" + stamp.encode() + b":" + proof, hashlib.sha256)
    headers = {"x-slack-signature": "v0=" + signed.hexdigest(), "x-slack-request-timestamp": stamp}
    answered = await client.post(path, content=proof, headers=headers)
    assert (answered.status_code, answered.json()) == (200, {"challenge": "c-42"})
    assert len(await _runs(db, published.workflow_id)) == 1
    forged_headers = {**headers, "x-slack-signature": "v0=0"}
    forged = await client.post(path, content=proof, headers=forged_headers)
    assert_envelope(forged, 401, "INVALID_SIGNATURE")


async def test_an_orgs_app_webhook_reads_its_secret_from_the_connection(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    definition = {
        "slug": "acme",
        "name": "Acme",
        "auth": {"type": "keybased", "headers": {"X-Key": "{api_key}"},
                 "fields": [{"name": "api_key", "label": "Key"},
                            {"name": "signing", "label": "Signing secret"}]},
        "actions": [{"name": "ping", "label": "Ping", "method": "GET", "path": "/",
                     "effect": "read"}],
        "triggers": [{"kind": "webhook", "name": "event", "label": "Event",
                      "signature": {"header": "X-Acme-Signature", "encoding": "base64",
                                    "secret": {"connection_field": "signing"}},
                      "event_id_path": "id"}],
    }  # fmt: skip
    defined = await client.post(f"{BASE}/application", json=definition, headers=tenant.org_key)
    assert defined.status_code == 200, defined.text
    listed = await client.get(f"{BASE}/application/acme", headers=tenant.bearer)
    (shown,) = (
        listed.json()["triggers"]
        if isinstance(listed.json(), dict)
        else listed.json()[0]["triggers"]
    )
    assert shown["name"] == "event" and shown["kind"] == "webhook"
    await connect_with_key(app, await scope_of(app, tenant.org_id, tenant.account_id), "acme",
                           {"api_key": "k", "signing": "conn-secret"})  # fmt: skip
    published = await publish_chain(client, tenant, [_app_start("acme", "event")])
    assert published.status_code == 200, published.text
    workflow = await client.get(f"{BASE}/workflow/{published.workflow_id}", headers=tenant.bearer)
    path = workflow.json()["webhook_path"]
    body = b'{"id": "e-1", "total": 3}'
    digest = hmac.new(b"conn-secret", body, hashlib.sha256).digest()
    signed = {"x-acme-signature": base64.b64encode(digest).decode()}
    first = await client.post(path, content=body, headers=signed)
    assert first.status_code == 202, first.text
    again = await client.post(path, content=body, headers=signed)
    assert again.json() == {**first.json(), "duplicate": True}
    assert_envelope(await client.post(path, content=body, headers={"x-acme-signature": "x"}), 401)
    assert_envelope(await client.post("/hooks/app/not-a-secret", content=body), 404)


async def test_republishing_keeps_a_polls_state_unless_the_trigger_changed(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, db: Database
) -> None:
    fake.answer("GET", "/v1/charges", _charges("ch_1"))
    workflow_id = await _polling_workflow(app, client, tenant, fake)
    await run_due_app_triggers(app_state(app).services)
    kept = await _row(db, workflow_id)
    assert kept is not None and kept.state["primed"]

    async def republish(start: dict[str, Any]) -> None:
        saved = await client.put(
            f"{BASE}/workflow/{workflow_id}/draft", json={"nodes": [start]}, headers=tenant.bearer
        )
        assert saved.status_code == 200, saved.text
        done = await client.put(
            f"{BASE}/workflow/{workflow_id}/publish", json={"published": True},
            headers=tenant.bearer,
        )  # fmt: skip
        assert done.status_code == 200, done.text

    await republish(_app_start("stripe", "new_charge"))
    same = await _row(db, workflow_id)
    assert same is not None and same.id == kept.id and same.state == kept.state
    await republish(_app_start("stripe", "new_charge", customer="cus_1"))
    changed = await _row(db, workflow_id)
    assert changed is not None and changed.id != kept.id and changed.status == "starting"
    deleted = await client.delete(f"{BASE}/workflow/{workflow_id}", headers=tenant.bearer)
    assert deleted.status_code == 200 and deleted.json()["triggers_deregistered"] == 1
    async with db.reading() as session:
        rows = list(
            await session.scalars(select(AppTrigger).where(AppTrigger.org_id == tenant.org_id))
        )
    assert {(r.status, r.workflow_id) for r in rows} == {("stopping", None)}
    await run_due_app_triggers(app_state(app).services)
    async with db.reading() as session:
        assert (
            await session.scalar(select(AppTrigger).where(AppTrigger.org_id == tenant.org_id))
            is None
        )


async def test_items_whose_keys_hold_odd_strings_start_one_run_each_once(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi, db: Database
) -> None:
    """An id with a lone surrogate or NUL (JSON escapes an outside API may send): the poll state
    and the run's key are stored with U+FFFD in their place, so the item's key must be that
    too, or every later poll finds the item new again (and PostgreSQL refuses NUL in a key)."""
    services = app_state(app).services
    fake.answer("GET", "/v1/charges", _charges("ch_old"))
    workflow_id = await _polling_workflow(app, client, tenant, fake)
    await run_due_app_triggers(services)
    odd = ["ch_\udc00x", "ch_\x00y"]
    fake.answer("GET", "/v1/charges", _charges("ch_old", *odd))
    for _ in range(3):
        await _make_due(db, workflow_id)
        await run_due_app_triggers(services)
    runs = await _runs(db, workflow_id)
    assert sorted(r.input["id"] for r in runs) == ["ch_\ufffdx", "ch_\ufffdy"]
    assert {r.idempotency_key for r in runs} == {
        f"poll:{workflow_id}:ch_\ufffdx",
        f"poll:{workflow_id}:ch_\ufffdy",
    }
    row = await _row(db, workflow_id)
    assert row is not None and row.status == "live" and row.last_error is None
