"""Paging and rate limits of app calls, against a real HTTP server on 127.0.0.1.

An org app (`pager`) declares one action per pagination kind and misbehaving endpoints; the
server answers as real APIs page, loop or rate limit. Waits are zero (Retry-After: 0, a past
date, `backoff_s: 0`), or a step fails before waiting: no test sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from actions_support import run_action, scope_of
from fake_api import FakeApi
from fastapi import FastAPI
from paged_api import (
    ITEMS,
    SIZE,
    after_last_item,
    busy,
    link_header,
    next_cursor,
    next_records_url,
    offsets,
    page_numbers,
)

from engine.flows import BASE
from support import Tenant
from weft.api.deps import app_state
from weft.apps.gateway import AppGateway
from weft.engine.interpreter.context import expression_scope, node_context
from weft.expressions.evaluator import Limits
from weft.nodes import http
from weft.nodes.runtime import NodeFailure, NodeResult
from weft.store.scope import Scope
from weft.workflows.graph import NodeIn

pytestmark = pytest.mark.integration

PAST = "Wed, 21 Oct 2015 07:28:00 GMT"
FAR = "Fri, 01 Jan 2100 00:00:00 GMT"


def _action(name: str, path: str, items: str | None, pagination: Any = None) -> dict[str, Any]:
    action: dict[str, Any] = {"name": name, "label": name, "method": "GET", "path": path}
    action |= {"effect": "read", "items": items} if items else {"effect": "read"}
    return action | ({"pagination": pagination} if pagination is not None else {})


def _app(slug: str, url: str, rate_limit: dict[str, Any]) -> dict[str, Any]:
    page = {"type": "page", "param": "page", "size_param": "per_page", "page_size": SIZE}
    return {
        "slug": slug,
        "name": slug.title(),
        "base_url": url,
        # The app's default, which list actions (those with `items`) take.
        "pagination": {"type": "cursor", "param": "cursor", "next": "meta.next"},
        "rate_limit": rate_limit,
        "actions": [
            _action("cursor", "/cursor", "things"),
            _action(
                "after_last",
                "/charges",
                "data",
                {"type": "cursor", "param": "starting_after", "last_item": "id",
                 "has_more": "has_more", "size_param": "limit", "page_size": SIZE},
            ),
            _action("pages", "/pages", "$", page),
            _action(
                "offsets",
                "/offsets",
                "rows",
                {"type": "page", "param": "offset", "offset": True, "size_param": "count",
                 "page_size": SIZE},
            ),
            _action("linked", "/linked", "$", {"type": "link"}),
            _action("next_url", "/records", "records",
                    {"type": "link", "next_url": "nextRecordsUrl"}),
            _action("endless", "/endless", "$", {"type": "page", "param": "page", "max_pages": 3}),
            _action("loop", "/loop", "things"),
            _action("rows", "/rows", "rows"),
            _action("single", "/single", None),
            _action("busy", "/busy", "rows", False),
        ],
    }  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


async def _define(client: httpx.AsyncClient, tenant: Tenant, definition: dict[str, Any]) -> None:
    saved = await client.post(f"{BASE}/application", json=definition, headers=tenant.org_key)
    assert saved.status_code == 200, saved.text


@pytest.fixture
async def scope(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fake: FakeApi) -> Scope:
    # `pager` retries at once; `slowpoke` backs off for seconds, so a step with a short time
    # limit fails rather than wait whenever no header says how long.
    quick = {"statuses_with_wait": [403, 503], "max_retries": 2, "backoff_s": 0}
    await _define(client, tenant, _app("pager", fake.url, quick))
    await _define(client, tenant, _app("slowpoke", fake.url, {"backoff_s": 30, "max_wait_s": 60}))
    return await scope_of(app, tenant.org_id, tenant.account_id)


async def _all(app: FastAPI, scope: Scope, action: str, **options: Any) -> NodeResult:
    options = {"all_pages": True} | options
    return await run_action(app, scope, "pager", action, {}, options=options)


def _serve_kinds(fake: FakeApi) -> None:
    fake.answer("GET", "/cursor", next_cursor("things", "cursor", "meta.next"))
    fake.answer("GET", "/charges", after_last_item)
    fake.answer("GET", "/pages", page_numbers)
    fake.answer("GET", "/offsets", offsets)
    fake.answer("GET", "/linked", link_header(fake.url, "/linked"))
    for path in ("/records", "/records/01g-2", "/records/01g-4"):
        fake.answer("GET", path, next_records_url("/records"))


@pytest.mark.parametrize(
    "action", ["cursor", "after_last", "pages", "offsets", "linked", "next_url"]
)
async def test_each_pagination_kind_gathers_every_page(
    app: FastAPI, scope: Scope, fake: FakeApi, action: str
) -> None:
    _serve_kinds(fake)
    result = await _all(app, scope, action)
    assert result.output == {"items": ITEMS, "pages": 3, "more": False}
    assert len(fake.requests) == 3
    # The step records the first request, not every page's.
    assert result.input["action"] == action


async def test_without_all_pages_the_output_is_the_first_answer_as_before(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    _serve_kinds(fake)
    result = await run_action(app, scope, "pager", "cursor", {})
    assert result.output == {"things": ITEMS[:2], "meta": {"next": "2"}}
    assert len(fake.requests) == 1


async def test_page_size_is_sent_when_the_caller_gives_none(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    _serve_kinds(fake)
    await _all(app, scope, "after_last")
    assert [r.query for r in fake.requests] == [
        {"limit": "2"},
        {"limit": "2", "starting_after": "it1"},
        {"limit": "2", "starting_after": "it3"},
    ]


async def test_max_items_stops_early_and_says_more_were_left(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    _serve_kinds(fake)
    result = await _all(app, scope, "cursor", max_items=3)
    assert result.output == {"items": ITEMS[:3], "pages": 2, "more": True}
    assert len(fake.requests) == 2


async def test_an_endless_api_stops_at_the_page_cap(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    fake.answer("GET", "/endless", lambda r: (200, [{"page": r.query.get("page")}]))
    result = await _all(app, scope, "endless")
    assert result.output == {
        "items": [{"page": "1"}, {"page": "2"}, {"page": "3"}],
        "pages": 3,
        "more": True,
    }


@pytest.mark.parametrize(
    ("action", "path", "answer", "message"),
    [
        ("loop", "/loop", (200, {"things": [1], "meta": {"next": "same"}}), "same cursor twice"),
        ("endless", "/endless", (200, [{"always": "this"}]), "same page twice"),
        ("linked", "/linked", (200, [1], {"link": "</linked>; rel=next"}), "same next link"),
        ("linked", "/linked", (200, [1], {"link": "<http://elsewhere.test/x>; rel=next"}),
         "leaves 127.0.0.1"),
        ("linked", "/linked", (200, [1], {"link": "garbage, not a link"}), "cannot be read"),
        ("rows", "/rows", (200, {"other": []}), "without a list at `rows` (found nothing)"),
        ("rows", "/rows", (200, {"rows": {"a": 1}}), "without a list at `rows` (found a dict)"),
        ("linked", "/linked", (200, b"<html>oops</html>"), "without a list at the response"),
        ("after_last", "/charges", (200, {"data": [{"no_id": 1}], "has_more": True}),
         "no `id` to page after"),
        ("single", "/single", (200, []), "does not page"),
    ],
)  # fmt: skip
async def test_a_misbehaving_api_fails_the_step_clearly(
    app: FastAPI,
    scope: Scope,
    fake: FakeApi,
    action: str,
    path: str,
    answer: tuple[Any, ...],
    message: str,
) -> None:
    fake.answer("GET", path, lambda _request: answer)
    with pytest.raises(NodeFailure, match=re.escape(message)):
        await _all(app, scope, action)
    assert len(fake.requests) <= 2


async def test_an_error_answer_on_a_later_page_fails_with_that_response(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    def answer(request: Any) -> tuple[Any, ...]:
        if request.query.get("cursor"):
            return 400, {"error": "bad cursor"}
        return 200, {"things": [1], "meta": {"next": "x"}}

    fake.answer("GET", "/cursor", answer)
    with pytest.raises(NodeFailure, match=r"pager\.cursor answered 400") as failure:
        await _all(app, scope, "cursor")
    assert failure.value.details["response"]["body"] == {"error": "bad cursor"}


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (429, {"retry-after": "0"}),
        (429, {"retry-after": PAST}),  # an HTTP date already past: no wait
        (429, {"retry-after-ms": "0"}),
        (429, {}),  # no header: backoff (zero for this app)
        (503, {"retry-after": "0"}),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1445412480"}),  # past epoch
    ],
)
async def test_rate_limited_answers_are_retried_as_they_ask(
    app: FastAPI, scope: Scope, fake: FakeApi, status: int, headers: dict[str, str]
) -> None:
    fake.answer("GET", "/busy", busy(2, headers, status))
    result = await run_action(app, scope, "pager", "busy", {})
    assert result.output == {"rows": ITEMS[:SIZE]}
    assert len(fake.requests) == 3


@pytest.mark.parametrize(("status", "headers"), [(503, {}), (403, {"x-ratelimit-remaining": "12"})])
async def test_a_status_that_needs_a_wait_header_without_one_is_an_error(
    app: FastAPI, scope: Scope, fake: FakeApi, status: int, headers: dict[str, str]
) -> None:
    fake.answer("GET", "/busy", busy(5, headers, status))
    with pytest.raises(NodeFailure, match=f"answered {status}"):
        await run_action(app, scope, "pager", "busy", {})
    assert len(fake.requests) == 1


async def test_retries_run_out_with_a_retryable_failure(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    fake.answer("GET", "/busy", busy(10, {"retry-after": "0"}))
    with pytest.raises(NodeFailure, match=r"rate limiting \(answered 429 3 times\)") as failure:
        await run_action(app, scope, "pager", "busy", {})
    assert failure.value.retryable is True
    assert len(fake.requests) == 3  # max_retries: 2


@pytest.mark.parametrize(
    ("retry_after", "retry_at"), [("1000000000", "20"), (FAR, "2100-01-01T00:00:00")]
)
async def test_a_hostile_retry_after_fails_at_once_saying_when_to_retry(
    app: FastAPI, scope: Scope, fake: FakeApi, retry_after: str, retry_at: str
) -> None:
    fake.answer("GET", "/busy", busy(1, {"retry-after": retry_after}))
    with pytest.raises(NodeFailure, match="longer than the 60 s a step waits") as failure:
        await run_action(app, scope, "slowpoke", "busy", {})
    assert failure.value.retryable is False
    assert failure.value.details["retry_at"].startswith(retry_at)
    assert f"try again after {retry_at}" in failure.value.message
    assert len(fake.requests) == 1


async def test_a_wait_past_the_step_time_limit_fails_before_waiting(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    # No header: slowpoke backs off 15 to 30 s, more than the step's 5 s.
    fake.answer("GET", "/busy", busy(1, {}))
    with pytest.raises(NodeFailure, match="past the step's time limit"):
        await run_action(app, scope, "slowpoke", "busy", {}, options={"timeout_s": 5})
    assert len(fake.requests) == 1


async def test_a_past_http_date_is_read_as_no_wait(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    # Were the date not understood, slowpoke's backoff would cross the 5 s limit and fail.
    fake.answer("GET", "/busy", busy(1, {"retry-after": PAST}))
    result = await run_action(app, scope, "slowpoke", "busy", {}, options={"timeout_s": 5})
    assert result.output == {"rows": ITEMS[:SIZE]}


async def test_an_http_node_with_a_connection_honours_the_apps_rate_limit(
    app: FastAPI, scope: Scope, fake: FakeApi
) -> None:
    fake.answer("GET", "/busy", busy(2, {"retry-after": "0"}))
    services = app_state(app).services
    gateway = AppGateway(
        services, scope.org_id, scope.environment, scope.linked_account_pk, "0" * 24
    )
    data = {"url": f"{fake.url}/busy", "connection": "pager"}
    ctx = node_context(
        NodeIn(id="2", type="http", name="Call", data=data),
        expression_scope(trigger={}, nodes={}, loop=None, config=None),
        Limits(),
        outbound=services.outbound,
        sandbox=services.sandbox,
        extras={"apps": gateway},
    )
    result = await http.run(http.Config.model_validate(data), ctx)
    assert result.output["status"] == 200
    assert len(fake.requests) == 3
