"""Building an action's request from its definition (pure, no I/O)."""

from __future__ import annotations

import base64

import pytest

from weft.apps.calls import ActionInputError, build_request, form_pairs
from weft.apps.catalog import parse_definition
from weft.errors import InvalidInput

pytestmark = pytest.mark.unit


def _app(auth: dict) -> dict:
    return {
        "slug": "acme",
        "name": "Acme",
        "base_url": "https://api.acme.test/",
        "auth": auth,
        "actions": [
            {
                "name": "get_item",
                "label": "Get item",
                "method": "GET",
                "path": "/items/{id}",
                "parameters": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "string"}, "n": {"type": "integer"}},
                },
                "effect": "read",
            }
        ],
    }


def test_basic_auth_fields_become_an_authorization_header() -> None:
    definition = parse_definition(
        _app(
            {
                "type": "keybased",
                "fields": [{"name": "user", "label": "User"}, {"name": "pw", "label": "Pass"}],
                "basic": {"username": "{user}", "password": "{pw}"},
            }
        )
    )
    request = build_request(
        definition,
        definition.actions[0],
        {"id": "a/b", "n": 2},
        {"fields": {"user": "u", "pw": "p"}},
    )
    assert request.url == "https://api.acme.test/items/a%2Fb"
    assert request.query == {"n": "2"}
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert "authorization" not in str(request.shown)


def test_parameters_are_checked_against_the_schema_before_sending() -> None:
    definition = parse_definition(_app({"type": "none"}))
    with pytest.raises(ActionInputError, match="params: 'id' is a required property"):
        build_request(definition, definition.actions[0], {"id": None}, None)
    with pytest.raises(ActionInputError, match=r"params\.n: 'two' is not of type 'integer'"):
        build_request(definition, definition.actions[0], {"id": "1", "n": "two"}, None)
    # Deeper than the top level too: every rule of the schema holds.
    nested = _app({"type": "none"})
    nested["actions"][0]["parameters"]["properties"]["tags"] = {
        "type": "array",
        "items": {"type": "string", "pattern": "^[a-z]+$"},
    }
    definition = parse_definition(nested)
    with pytest.raises(ActionInputError, match=r"params.tags\[1\]: 'B!' does not match"):
        build_request(definition, definition.actions[0], {"id": "1", "tags": ["a", "B!"]}, None)


def test_action_schemas_regexes_must_be_ones_re2_runs() -> None:
    broken = _app({"type": "none"})
    broken["actions"][0]["parameters"]["properties"]["id"]["pattern"] = "(a)\\1"
    with pytest.raises(InvalidInput, match="RE2"):
        parse_definition(broken)


def test_definitions_naming_unknown_fields_are_refused() -> None:
    bad = _app({"type": "keybased", "fields": [{"name": "key", "label": "K"}],
                "headers": {"X-Key": "{nope}"}})  # fmt: skip
    with pytest.raises(InvalidInput, match="unknown fields"):
        parse_definition(bad)
    with pytest.raises(InvalidInput, match="effect"):
        parse_definition({**_app({"type": "none"}), "actions": [{"name": "x", "label": "X",
                          "method": "GET", "path": "/x"}]})  # fmt: skip


def test_form_pairs_use_bracket_notation_like_stripe() -> None:
    pairs = form_pairs({"email": "a@b.co", "metadata": {"plan": "pro"}, "items": [{"price": 1}]})
    assert pairs == [("email", "a@b.co"), ("metadata[plan]", "pro"), ("items[0][price]", "1")]
