"""Reading rate-limit answers and declarations (pure: no server, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from weft.apps.call_model import RateLimit
from weft.apps.catalog import shipped_definitions
from weft.apps.limits import backoff_s, is_rate_limited, wait_asked
from weft.apps.model import AppDefinition
from weft.apps.paging import next_link
from weft.net import OutboundResponse
from weft.nodes import app_action

pytestmark = pytest.mark.unit

AT = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
LIMIT = RateLimit()


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "Tue, 01 Jan 2030 12:00:30 GMT"}, 30.0),
        ({"retry-after": "Tue, 01 Jan 2030 11:00:00 GMT"}, 0.0),  # past: no wait
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ratelimit-reset": str(int(AT.timestamp()) + 40)}, 40.0),  # epoch seconds
        ({"x-ratelimit-reset": str(int(AT.timestamp() + 40) * 1000)}, 40.0),  # epoch ms
        ({"ratelimit-reset": "12"}, 12.0),  # seconds from now (IETF draft)
        ({"retry-after": "soon", "x-rate-limit-reset": "5"}, 5.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({}, None),
    ],
)
def test_wait_asked_reads_retry_after_and_reset_headers(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert wait_asked(headers, LIMIT, AT) == seconds


def _answer(status: int, headers: dict[str, str]) -> Any:
    return OutboundResponse(status=status, headers=headers, body=None)


def test_statuses_with_wait_count_only_when_they_say_how_long() -> None:
    github = shipped_definitions()["github"].rate_limit
    assert github is not None
    assert is_rate_limited(_answer(429, {}), github, AT)
    assert is_rate_limited(_answer(403, {"x-ratelimit-remaining": "0"}), github, AT)
    assert is_rate_limited(_answer(403, {"retry-after": "60"}), github, AT)
    assert not is_rate_limited(_answer(403, {"x-ratelimit-remaining": "42"}), github, AT)
    assert not is_rate_limited(_answer(403, {}), github, AT)
    assert is_rate_limited(_answer(503, {"retry-after": "1"}), LIMIT, AT)
    assert not is_rate_limited(_answer(503, {}), LIMIT, AT)
    assert not is_rate_limited(_answer(500, {"retry-after": "1"}), LIMIT, AT)


def test_backoff_grows_with_jitter_and_never_passes_the_longest_wait() -> None:
    limit = RateLimit(backoff_s=1, max_wait_s=5)
    for retry, ceiling in [(0, 1), (1, 2), (2, 4), (3, 5), (9, 5)]:
        waits = [backoff_s(limit, retry) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)


@pytest.mark.parametrize(
    ("header", "url"),
    [
        ('<https://a.test/x?page=2>; rel="next", <https://a.test/x?page=9>; rel="last"',
         "https://a.test/x?page=2"),
        ('<https://a.test/x?page=1>; rel="prev", </x?page=3>; rel=next', "/x?page=3"),
        ('<https://a.test/y>; title="a, b; c"; rel="next"', "https://a.test/y"),
        ('<https://a.test/y>; rel="prev next"', "https://a.test/y"),
        ('<https://a.test/x?page=9>; rel="last"', None),
        ("", None),
        (None, None),
    ],
)  # fmt: skip
def test_next_link_reads_rfc_8288_headers(header: str | None, url: str | None) -> None:
    assert next_link(header) == url


def test_next_link_refuses_a_header_that_is_not_links() -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        next_link("page=2")


def _definition(action: dict[str, Any], **app: Any) -> dict[str, Any]:
    base = {"name": "list", "label": "List", "method": "GET", "path": "/l", "effect": "read"}
    return {"slug": "acme", "name": "Acme", "actions": [base | action], **app}


CURSOR = {"type": "cursor", "param": "after", "next": "paging.next.after"}


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        (_definition({"pagination": CURSOR}), "has no items path"),
        (_definition({"items": "data", "effect": "write"}, pagination=CURSOR),
         "its effect is not read"),
        (_definition({"items": "data", "pagination": {"type": "cursor", "param": "c"}}),
         "exactly one of next and last_item"),
        (_definition({"items": "data.[0]"}), "items"),
        (_definition({}, pagination=CURSOR | {"max_pages": 100_000}), "max_pages"),
        (_definition({}, rate_limit={"max_wait_s": 86_400}), "max_wait_s"),
    ],
)  # fmt: skip
def test_definitions_with_impossible_paging_are_refused(
    definition: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        AppDefinition.model_validate(definition)


def test_list_actions_take_the_apps_pagination_unless_they_opt_out() -> None:
    raw = _definition({"items": "data"}, pagination=CURSOR)
    raw["actions"] += [
        raw["actions"][0] | {"name": "own", "pagination": False},
        raw["actions"][0] | {"name": "single", "items": None},
    ]
    # Stored definitions are their dumps: the choice survives the round trip.
    stored = AppDefinition.model_validate(raw).model_dump(mode="json")
    definition = AppDefinition.model_validate(stored)
    paged = {a.name: definition.pagination_of(a) is not None for a in definition.actions}
    assert paged == {"list": True, "own": False, "single": False}


def test_every_shipped_list_action_pages() -> None:
    paged = {
        (slug, action.name)
        for slug, definition in shipped_definitions().items()
        for action in definition.actions
        if definition.pagination_of(action) is not None
    }
    assert paged >= {
        ("github", "list_repos"),
        ("google-calendar", "list_calendars"),
        ("google-calendar", "list_events"),
        ("hubspot", "search_contacts"),
        ("hubspot", "search_deals"),
        # Curated in catalog/<slug>/app.yaml for apps generated from a document.
        ("intercom", "list_conversations"),
        ("klaviyo", "list_profiles"),
        ("paddle", "list_products"),
        ("square", "list_customers"),
        ("notion", "query_database"),
        ("salesforce", "query"),
        ("slack", "list_channels"),
        ("stripe", "list_charges"),
    }


def test_max_items_needs_all_pages() -> None:
    with pytest.raises(ValidationError, match="max_items applies only with all_pages"):
        app_action.Config.model_validate({"action": "list", "max_items": 5})
    config = app_action.Config.model_validate({"action": "l", "all_pages": True, "max_items": 5})
    assert config.max_items == 5
