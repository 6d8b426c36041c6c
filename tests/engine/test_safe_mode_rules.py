"""Which steps safe test mode holds back, and what it hides in the request it shows."""

from __future__ import annotations

import pytest

from weft.engine.interpreter.safe_mode import effect_of
from weft.nodes import parse_node_config
from weft.redaction import REDACTED, redact_url, redact_value

pytestmark = pytest.mark.unit


def test_http_writes_by_method_and_unknown_app_actions_count_as_writes() -> None:
    for method, effect in [
        ("GET", "read"),
        ("HEAD", "read"),
        ("post", "write"),
        ("DELETE", "write"),
    ]:
        config = parse_node_config("http", {"method": method, "url": "https://x.example"})
        assert effect_of("http", config) == effect
    action = parse_node_config("app_action", {"app": "crm", "action": "create_contact"})
    assert effect_of("app_action", action) == "write"
    child = parse_node_config("workflow", {"workflow_id": "0" * 24})
    assert effect_of("workflow", child) == "write"
    assert effect_of("transform", parse_node_config("transform", {"value": 1})) == "none"


def test_credentials_are_redacted_at_any_depth_and_in_urls() -> None:
    redacted = redact_value(
        {"user": {"name": "a", "api_key": "k", "tokens": ["t"]}, "list": [{"Secret": 1}]}
    )
    assert redacted == {
        "user": {"name": "a", "api_key": REDACTED, "tokens": REDACTED},
        "list": [{"Secret": REDACTED}],
    }
    url = redact_url("https://bob:pw@api.example.com/v1?access_token=abc&q=ok#frag")
    assert url == f"https://{REDACTED}@api.example.com/v1?access_token={REDACTED}&q=ok#frag"
    assert redact_url("https://api.example.com/v1") == "https://api.example.com/v1"
