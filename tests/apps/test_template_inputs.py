"""Where a template's injected inputs go: each value replaces what the template holds at its
targets (dicts and list items), defaults fill what is not given, and the template's own graph
is never changed. Odd schemas and inputs are clear 400s."""

from __future__ import annotations

import copy

import pytest

from weft.apps.template_inputs import check_inputs_schema, injected_nodes
from weft.errors import InvalidInput

pytestmark = pytest.mark.unit

NODES = [
    {"id": "1", "type": "start", "data": {"trigger": "manual"}},
    {
        "id": "2",
        "type": "http",
        "data": {"url": "https://example.com", "headers": [{"name": "x", "value": "old"}]},
    },
]


def schema(**properties: dict) -> dict:
    return {"type": "object", "properties": properties}


def test_values_and_defaults_land_at_their_targets_and_the_template_stays() -> None:
    inputs = schema(
        url={"type": "string", "x-weft-targets": [{"node": "2", "path": "url"}]},
        header={
            "type": "string",
            "default": "from-default",
            "x-weft-targets": [{"node": "2", "path": "headers.0.value"}],
        },
        unused={"type": "string"},
    )
    before = copy.deepcopy(NODES)
    checked = check_inputs_schema(inputs, NODES)
    made = injected_nodes(checked, NODES, {"url": "https://api.test/x", "unused": "kept out"})
    assert made[1]["data"] == {
        "url": "https://api.test/x",
        "headers": [{"name": "x", "value": "from-default"}],
    }
    assert before == NODES


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        ("text", "must be a JSON Schema object"),
        (schema(a={"type": "string", "x-weft-targets": "2.url"}), "list of 1 to 20 targets"),
        (schema(a={"x-weft-targets": [{"node": "2"}]}), "must be {node, path}"),
        (schema(a={"x-weft-targets": [{"node": "2", "path": "a..b"}]}), "not a dotted path"),
        (schema(a={"x-weft-targets": [{"node": "2", "path": "headers.5.value"}]}), "nothing at"),
        (schema(a={"type": "string", "pattern": "("}), "not a JSON Schema"),
    ],
)
def test_odd_schemas_are_refused_saying_why(inputs: object, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_inputs_schema(inputs, NODES)
    assert reason in refused.value.message


def test_odd_inputs_are_refused_saying_why() -> None:
    nested: list = []
    for _ in range(200_000):
        nested = [nested]
    cases = [
        ([1], {}, "must be a JSON object"),
        ({"a": 1}, {}, "takes no inputs"),
        ({"a": nested}, schema(a={}), "nested too deeply"),
    ]
    for inputs, declared, reason in cases:
        with pytest.raises(InvalidInput) as refused:
            injected_nodes(declared, NODES, inputs)
        assert reason in refused.value.message
