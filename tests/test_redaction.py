"""One credential redaction: every record hides the same keys (weft.redaction)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from weft.apps.calls import build_request
from weft.apps.catalog import parse_definition
from weft.engine.interpreter.safe_mode import preview_request
from weft.nodes import parse_node_config
from weft.nodes.http import run as run_http
from weft.nodes.runtime import NodeContext
from weft.redaction import REDACTED, is_credential_name, redact_mapping, redact_url

pytestmark = pytest.mark.unit

# Every name either of the two former word lists hid (net/redaction.py, engine/safe_mode.py).
CREDENTIAL_NAMES = [
    "Authorization",
    "proxy-authorization",
    "Cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "api_key",
    "access_key",
    "key",
    "sig",
    "signature",
    "client_secret",
    "client-secret",
    "private_key",
    "password",
    "passwd",
    "access_token",
    "X-Auth-Token",
    "auth",
    "session_id",
    "credentials",
    "bearer",
]
PLAIN_NAMES = ["name", "page", "Accept", "X-Trace", "monkey", "design", "q"]
FIELDS = {name: f"value-of-{name}" for name in CREDENTIAL_NAMES + PLAIN_NAMES}


def _hidden(recorded: dict[str, Any]) -> set[str]:
    return {name for name, value in recorded.items() if value == REDACTED}


def test_the_word_list_keeps_every_name_either_former_list_hid() -> None:
    assert all(is_credential_name(name) for name in CREDENTIAL_NAMES)
    assert not any(is_credential_name(name) for name in PLAIN_NAMES)


def test_urls_lose_their_user_info_and_credential_query_values() -> None:
    url = redact_url("https://bob:pw@api.example.com/v1?access_token=abc&q=ok#frag")
    assert url == f"https://{REDACTED}@api.example.com/v1?access_token={REDACTED}&q=ok#frag"
    # A lone user name is often the key itself (https://<token>@host).
    assert (
        redact_url("https://sk_live_1@api.example.com/") == f"https://{REDACTED}@api.example.com/"
    )
    assert redact_url("https://api.example.com/v1?q=1") == "https://api.example.com/v1?q=1"


def test_empty_values_stay_visible_and_nested_ones_are_hidden() -> None:
    assert redact_mapping({"token": "", "cookie": None, "user": {"password": "p"}}) == {
        "token": "",
        "cookie": None,
        "user": {"password": REDACTED},
    }


class _Outbound:
    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return SimpleNamespace(status=200, headers={}, body={"ok": True})


async def _as_given(value: Any, _field: str) -> Any:
    return value


def _context() -> NodeContext:
    return NodeContext(
        data={}, render=_as_given, evaluate=_as_given, outbound=_Outbound(), sandbox=None
    )


async def test_step_records_safe_mode_and_app_actions_hide_the_same_keys() -> None:
    config = parse_node_config(
        "http",
        {
            "method": "POST",
            "url": "https://api.example.com/v1",
            "headers": FIELDS,
            "query": FIELDS,
            "body": {"nested": FIELDS},
        },
    )
    recorded = (await run_http(config, _context())).input  # what the step stores
    previewed = await preview_request("http", config, _context())  # what safe mode shows
    definition = parse_definition(
        {
            "slug": "acme",
            "name": "Acme",
            "base_url": "https://api.acme.test/",
            "auth": {"type": "none"},
            "actions": [
                {
                    "name": "create",
                    "label": "Create",
                    "method": "POST",
                    "path": "/items",
                    "parameters": {"type": "object"},
                    "effect": "write",
                }
            ],
        }
    )
    shown = build_request(definition, definition.actions[0], dict(FIELDS), None).shown
    expected = set(CREDENTIAL_NAMES)
    for request in (recorded, previewed):
        assert _hidden(request["headers"]) == expected
        assert _hidden(request["query"]) == expected
        assert _hidden(request["body"]["nested"]) == expected
    assert _hidden(shown["body"]) == expected
    assert _hidden(redact_mapping(FIELDS)) == expected  # inbound webhook headers and query
