"""Every shipped app's actions, run against a fake API that checks method, path, auth, body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from actions_support import connect_with_key, connect_with_token, run_action, scope_of
from fake_api import FakeApi
from fastapi import FastAPI
from sqlalchemy import update

from support import Tenant
from weft.api.deps import app_state
from weft.apps.catalog import action_effect, shipped_definitions
from weft.crypto import SecretBox
from weft.nodes.runtime import NodeFailure
from weft.store.tables import Connection

pytestmark = pytest.mark.integration

TOKEN = "oauth-access-token-7f3a"
STRIPE_KEY = "sk_test_stripe_secret_42"
HTTP_KEY = "Token http-secret-99"

# (slug, action, params, method, raw path, query, body kind, body)
CASES: list[tuple[str, str, dict[str, Any], str, str, dict[str, str], str, Any]] = [
    ("hubspot", "create_contact", {"properties": {"email": "a@b.co"}}, "POST",
     "/crm/v3/objects/contacts", {}, "json", {"properties": {"email": "a@b.co"}}),
    ("hubspot", "get_contact", {"contactId": "51", "properties": "email"}, "GET",
     "/crm/v3/objects/contacts/51", {"properties": "email"}, "none", None),
    ("hubspot", "update_contact", {"contactId": "51", "properties": {"lastname": "Ng"}},
     "PATCH", "/crm/v3/objects/contacts/51", {}, "json", {"properties": {"lastname": "Ng"}}),
    ("hubspot", "search_contacts", {"filterGroups": [], "limit": 5}, "POST",
     "/crm/v3/objects/contacts/search", {}, "json", {"filterGroups": [], "limit": 5}),
    ("hubspot", "search_deals", {"filterGroups": [], "limit": 5}, "POST",
     "/crm/v3/objects/deals/search", {}, "json", {"filterGroups": [], "limit": 5}),
    ("hubspot", "create_deal", {"properties": {"dealname": "Big"}}, "POST",
     "/crm/v3/objects/deals", {}, "json", {"properties": {"dealname": "Big"}}),
    ("hubspot", "list_deal_pipelines", {}, "GET", "/crm/v3/pipelines/deals", {}, "none", None),
    ("hubspot", "list_deal_stages", {"pipelineId": "p1"}, "GET",
     "/crm/v3/pipelines/deals/p1/stages", {}, "none", None),
    ("notion", "search", {"query": "Tasks", "filter": {"property": "object", "value": "database"}},
     "POST", "/v1/search", {}, "json",
     {"query": "Tasks", "filter": {"property": "object", "value": "database"}}),
    ("salesforce", "create_lead", {"LastName": "Ng", "Company": "Acme"}, "POST",
     "/services/data/v60.0/sobjects/Lead", {}, "json", {"LastName": "Ng", "Company": "Acme"}),
    ("salesforce", "get_record", {"sobject": "Account", "id": "001X", "fields": "Name"}, "GET",
     "/services/data/v60.0/sobjects/Account/001X", {"fields": "Name"}, "none", None),
    ("salesforce", "update_record", {"sobject": "Account", "id": "001X", "fields": {"Name": "N"}},
     "PATCH", "/services/data/v60.0/sobjects/Account/001X", {}, "json", {"Name": "N"}),
    ("salesforce", "query", {"q": "SELECT Id FROM Account"}, "GET",
     "/services/data/v60.0/query", {"q": "SELECT Id FROM Account"}, "none", None),
    ("slack", "post_message", {"channel": "C1", "text": "hi"}, "POST", "/chat.postMessage",
     {}, "json", {"channel": "C1", "text": "hi"}),
    ("slack", "list_channels", {"limit": 20}, "GET", "/conversations.list", {"limit": "20"},
     "none", None),
    ("slack", "get_user", {"user": "U1"}, "GET", "/users.info", {"user": "U1"}, "none", None),
    ("slack", "add_reaction", {"channel": "C1", "name": "tada", "timestamp": "1.2"}, "POST",
     "/reactions.add", {}, "json", {"channel": "C1", "name": "tada", "timestamp": "1.2"}),
    ("github", "create_issue", {"owner": "o", "repo": "r", "title": "Bug", "labels": ["x"]},
     "POST", "/repos/o/r/issues", {}, "json", {"title": "Bug", "labels": ["x"]}),
    ("github", "get_issue", {"owner": "o", "repo": "r", "issue_number": 7}, "GET",
     "/repos/o/r/issues/7", {}, "none", None),
    ("github", "create_issue_comment", {"owner": "o", "repo": "r", "issue_number": 7,
     "body": "Thanks"}, "POST", "/repos/o/r/issues/7/comments", {}, "json", {"body": "Thanks"}),
    ("github", "list_repos", {"per_page": 10}, "GET", "/user/repos", {"per_page": "10"},
     "none", None),
    ("github", "create_repo_webhook", {"owner": "o", "repo": "r", "name": "web",
     "config": {"url": "https://w.example/hooks/app/s", "secret": "x"}}, "POST",
     "/repos/o/r/hooks", {}, "json",
     {"name": "web", "config": {"url": "https://w.example/hooks/app/s", "secret": "x"}}),
    ("github", "delete_repo_webhook", {"owner": "o", "repo": "r", "hook_id": 12}, "DELETE",
     "/repos/o/r/hooks/12", {}, "none", None),
    ("stripe", "create_webhook_endpoint", {"url": "https://w.example/h",
     "enabled_events": ["charge.succeeded"]}, "POST", "/v1/webhook_endpoints", {}, "form",
     {"url": "https://w.example/h", "enabled_events[0]": "charge.succeeded"}),
    ("stripe", "delete_webhook_endpoint", {"id": "we_1"}, "DELETE", "/v1/webhook_endpoints/we_1",
     {}, "none", None),
    ("stripe", "create_customer", {"email": "a@b.co", "metadata": {"plan": "pro"}}, "POST",
     "/v1/customers", {}, "form", {"email": "a@b.co", "metadata[plan]": "pro"}),
    ("stripe", "get_customer", {"customer": "cus_1"}, "GET", "/v1/customers/cus_1", {},
     "none", None),
    ("stripe", "create_payment_intent", {"amount": 2000, "currency": "eur"}, "POST",
     "/v1/payment_intents", {}, "form", {"amount": "2000", "currency": "eur"}),
    ("stripe", "list_charges", {"customer": "cus_1", "limit": 3}, "GET", "/v1/charges",
     {"customer": "cus_1", "limit": "3"}, "none", None),
    ("google-sheets", "get_values", {"spreadsheetId": "S1", "range": "Sheet1!A1:B2"}, "GET",
     "/v4/spreadsheets/S1/values/Sheet1%21A1%3AB2", {}, "none", None),
    ("google-sheets", "append_values", {"spreadsheetId": "S1", "range": "Sheet1",
     "valueInputOption": "RAW", "values": [[1, "a"]]}, "POST",
     "/v4/spreadsheets/S1/values/Sheet1:append", {"valueInputOption": "RAW"}, "json",
     {"values": [[1, "a"]]}),
    ("google-sheets", "update_values", {"spreadsheetId": "S1", "range": "A1",
     "valueInputOption": "USER_ENTERED", "values": [["x"]]}, "PUT",
     "/v4/spreadsheets/S1/values/A1", {"valueInputOption": "USER_ENTERED"}, "json",
     {"values": [["x"]]}),
    ("google-sheets", "get_spreadsheet", {"spreadsheetId": "S1"}, "GET", "/v4/spreadsheets/S1",
     {}, "none", None),
    ("google-calendar", "list_calendars", {"maxResults": 10}, "GET", "/users/me/calendarList",
     {"maxResults": "10"}, "none", None),
    ("google-calendar", "list_events", {"calendarId": "primary", "q": "standup",
     "singleEvents": True}, "GET", "/calendars/primary/events",
     {"q": "standup", "singleEvents": "true"}, "none", None),
    ("google-calendar", "get_event", {"calendarId": "team@example.com", "eventId": "e1"}, "GET",
     "/calendars/team%40example.com/events/e1", {}, "none", None),
    ("google-calendar", "create_event", {"calendarId": "primary", "sendUpdates": "all",
     "summary": "Kick-off", "start": {"dateTime": "2026-12-07T09:00:00Z"},
     "end": {"dateTime": "2026-12-07T09:30:00Z"}, "attendees": [{"email": "a@b.co"}]}, "POST",
     "/calendars/primary/events", {"sendUpdates": "all"}, "json",
     {"summary": "Kick-off", "start": {"dateTime": "2026-12-07T09:00:00Z"},
      "end": {"dateTime": "2026-12-07T09:30:00Z"}, "attendees": [{"email": "a@b.co"}]}),
    ("google-calendar", "update_event", {"calendarId": "primary", "eventId": "e1",
     "summary": "Moved"}, "PATCH", "/calendars/primary/events/e1", {}, "json",
     {"summary": "Moved"}),
    ("google-calendar", "delete_event", {"calendarId": "primary", "eventId": "e1",
     "sendUpdates": "none"}, "DELETE", "/calendars/primary/events/e1", {"sendUpdates": "none"},
     "none", None),
    ("google-calendar", "query_free_busy", {"timeMin": "2026-12-07T00:00:00Z",
     "timeMax": "2026-12-08T00:00:00Z", "items": [{"id": "primary"}]}, "POST", "/freeBusy", {},
     "json", {"timeMin": "2026-12-07T00:00:00Z", "timeMax": "2026-12-08T00:00:00Z",
     "items": [{"id": "primary"}]}),
    ("notion", "create_page", {"parent": {"database_id": "d"}, "properties": {}}, "POST",
     "/v1/pages", {}, "json", {"parent": {"database_id": "d"}, "properties": {}}),
    ("notion", "query_database", {"database_id": "d1", "page_size": 2}, "POST",
     "/v1/databases/d1/query", {}, "json", {"page_size": 2}),
    ("notion", "get_page", {"page_id": "p1"}, "GET", "/v1/pages/p1", {}, "none", None),
    ("notion", "append_blocks", {"block_id": "b1", "children": []}, "PATCH",
     "/v1/blocks/b1/children", {}, "json", {"children": []}),
    ("http", "get", {"path": "v1/users", "query": {"page": "2"}}, "GET", "/v1/users",
     {"page": "2"}, "none", None),
    ("http", "post", {"path": "/v1/users", "body": {"name": "Ada"}}, "POST", "/v1/users", {},
     "json", {"name": "Ada"}),
    ("http", "put", {"path": "v1/users/1", "body": {"name": "Ada"}}, "PUT", "/v1/users/1", {},
     "json", {"name": "Ada"}),
    ("http", "delete", {"path": "v1/users/1"}, "DELETE", "/v1/users/1", {}, "none", None),
]  # fmt: skip


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
def test_every_shipped_action_has_a_case() -> None:
    covered = {(slug, action) for slug, action, *_ in CASES}
    # The hand-written apps; those generated from a document are checked against it instead
    # (test_catalog_conformance.py).
    written = [d for d in shipped_definitions().values() if d.source is None]
    declared = {(d.slug, action.name) for d in written for action in d.actions}
    assert declared == covered
    assert all(len(d.actions) >= 3 for d in written)


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
def test_action_effect_tells_reads_from_writes() -> None:
    assert action_effect("hubspot", "get_contact") == "read"
    assert action_effect("hubspot", "create_contact") == "write"
    assert action_effect("notion", "query_database") == "read"
    assert action_effect("nope", "nothing") == "write"  # unknown: treated as a write


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


async def _point_at(client: httpx.AsyncClient, tenant: Tenant, slug: str, url: str) -> None:
    response = await client.put(
        f"/api/v2/public/application/{slug}/settings",
        json={"base_url": url},
        headers=tenant.org_key,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("slug", "action", "params", "method", "path", "query", "kind", "body"),
    CASES,
    ids=[f"{case[0]}.{case[1]}" for case in CASES],
)
async def test_shipped_action_sends_the_real_api_request(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    fake: FakeApi,
    slug: str,
    action: str,
    params: dict[str, Any],
    method: str,
    path: str,
    query: dict[str, str],
    kind: str,
    body: Any,
) -> None:
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    if slug == "stripe":
        await connect_with_key(app, scope, slug, {"api_key": STRIPE_KEY})
        expected_auth = ("authorization", f"Bearer {STRIPE_KEY}")
    elif slug == "http":
        fields = {"base_url": fake.url, "header_name": "X-Api-Key", "api_key": HTTP_KEY}
        await connect_with_key(app, scope, slug, fields)
        expected_auth = ("x-api-key", HTTP_KEY)
    else:
        await connect_with_token(app, scope, slug, TOKEN)
        expected_auth = ("authorization", f"Bearer {TOKEN}")
    if slug != "http":
        await _point_at(client, tenant, slug, fake.url)
    fake.answer(method, path, {"ok": True, "id": "x1"})

    result = await run_action(app, scope, slug, action, params)

    assert result.output == {"ok": True, "id": "x1"}
    (seen,) = fake.requests
    assert seen.method == method
    assert seen.target.split("?")[0] == path
    assert seen.query == query
    assert seen.headers.get(expected_auth[0]) == expected_auth[1]
    if kind == "json":
        assert seen.headers["content-type"].startswith("application/json")
        assert seen.json() == body
    elif kind == "form":
        assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
        assert seen.form() == body
    else:
        assert seen.body == b""
    # What the step records names the call but never the credential.
    shown = repr(result.input)
    assert TOKEN not in shown and STRIPE_KEY not in shown and HTTP_KEY not in shown
    definition = shipped_definitions()[slug]
    for name, value in definition.headers.items():
        assert seen.headers.get(name) == value


async def test_action_without_connection_fails_clearly(app: FastAPI, tenant: Tenant) -> None:
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    with pytest.raises(NodeFailure, match="has not connected hubspot"):
        await run_action(app, scope, "hubspot", "get_contact", {"contactId": "1"})


async def test_credentials_another_key_sealed_fail_clearly_and_can_be_deleted(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """A connection the server's secret key no longer opens (the key was changed): the step
    fails saying to reconnect, and the connection can still be removed."""
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "stripe", {"api_key": STRIPE_KEY})
    other_key = SecretBox(b"k" * 32)
    async with app_state(app).db.transaction() as session:
        await session.execute(
            update(Connection)
            .where(Connection.app_slug == "stripe")
            .values(credentials_sealed=other_key.seal('{"fields": {}}', context="elsewhere"))
        )
    with pytest.raises(NodeFailure, match="reconnect the app") as failed:
        await run_action(app, scope, "stripe", "get_customer", {"customer": "cus_1"})
    assert failed.value.details["error_code"] == "CONNECTION_UNREADABLE"
    removed = await client.delete(
        "/api/v2/public/application/stripe/connection", headers=tenant.bearer
    )
    assert removed.status_code == 200, removed.text


async def test_action_missing_a_required_parameter_fails_before_sending(
    app: FastAPI, tenant: Tenant, fake: FakeApi
) -> None:
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_token(app, scope, "slack", TOKEN)
    with pytest.raises(NodeFailure, match="channel"):
        await run_action(app, scope, "slack", "post_message", {"text": "hi"})
    assert fake.requests == []


async def test_action_error_status_fails_with_the_response(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi
) -> None:
    scope = await scope_of(app, tenant.org_id, tenant.account_id)
    await connect_with_key(app, scope, "stripe", {"api_key": STRIPE_KEY})
    await _point_at(client, tenant, "stripe", fake.url)
    fake.answer("GET", "/v1/customers/cus_9", {"error": {"type": "invalid"}}, status=404)
    with pytest.raises(NodeFailure) as failure:
        await run_action(app, scope, "stripe", "get_customer", {"customer": "cus_9"})
    assert failure.value.retryable is False
    assert failure.value.details["response"]["status"] == 404
    assert STRIPE_KEY not in repr(failure.value.to_json())
