"""weft.workflows.request_schema: the schema a sample payload implies, and a tool's input schema."""

from __future__ import annotations

import pytest

from weft.apps.json_schema import value_problems
from weft.workflows.request_schema import ANY_OBJECT, input_schema_of, json_schema_of

pytestmark = pytest.mark.unit


def test_a_sample_describes_its_types_keys_and_first_item() -> None:
    sample = {"id": 7, "score": 0.5, "ok": True, "tags": ["a"], "none": None, "empty": []}
    assert json_schema_of(sample) == {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "score": {"type": "number"},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "none": {"type": "null"},
            "empty": {"type": "array", "items": {}},
        },
    }


@pytest.mark.parametrize("sample", [None, [], [1, 2], "text", 3, {}])
def test_without_an_object_sample_a_tool_takes_any_object(sample: object) -> None:
    assert input_schema_of(sample) == ANY_OBJECT


def test_a_tool_requires_the_samples_keys_but_those_shown_null() -> None:
    schema = input_schema_of({"email": "a@example.com", "note": None})
    assert schema["required"] == ["email"] and schema["properties"]["note"] == {}
    assert value_problems(schema, {"email": "b@example.com", "note": 3}, "arguments") == []
    assert value_problems(schema, {"note": "x"}, "arguments") == [
        "arguments: 'email' is a required property"
    ]
