"""A given JSON Schema (action parameters, event payloads, template inputs) is checked against
the 2020-12 metaschema: wrong schemas are refused with where they are wrong, a schema's own
`$schema` or `$ref` URLs are never fetched, and no nesting can crash the process."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml

from servers import RecordingServer
from weft.apps.json_schema import MAX_SCHEMA_DEPTH, schema_problem

pytestmark = pytest.mark.integration  # a server on 127.0.0.1 watches for fetches


def nested(levels: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return schema


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        ({"type": "strng"}, "(at /type)"),
        ({"type": "object", "properties": {"a": {"minimum": "1"}}}, "at /properties/a/minimum"),
        ({"required": "name"}, "at /required"),
        ({"type": "object", "properties": []}, "at /properties"),
        (5, "is not of type"),
        ({"pattern": "(unclosed"}, "a pattern RE2 cannot run"),
        ({"patternProperties": {"(?<=look)": {}}}, "a pattern RE2 cannot run"),
    ],
)
def test_a_wrong_schema_is_refused_with_where_it_is_wrong(schema: object, said: str) -> None:
    problem = schema_problem(schema)
    assert problem is not None and said in problem, problem


def test_every_shipped_actions_parameters_and_plain_schemas_pass() -> None:
    folder = resources.files("weft.apps") / "definitions"
    checked = 0
    for entry in folder.iterdir():
        text = entry.read_text(encoding="utf-8")
        raw = json.loads(text) if entry.name.endswith(".json") else yaml.safe_load(text)
        for action in raw.get("actions", []):
            assert schema_problem(action.get("parameters", {})) is None, (entry.name, action)
            checked += 1
    assert checked >= 400
    assert schema_problem(True) is None and schema_problem({}) is None


def test_urls_in_a_schema_are_never_fetched() -> None:
    server = RecordingServer()
    try:
        schema = {
            "$schema": f"{server.url}/meta",  # data: the 2020-12 metaschema applies regardless
            "$id": f"{server.url}/mine",
            "type": "object",
            "properties": {"a": {"$ref": f"{server.url}/other#/a"}},
        }
        assert schema_problem(schema) is None
        assert schema_problem({"$schema": f"{server.url}/meta", "type": 5}) is not None
    finally:
        server.close()
    assert server.received == []


def test_no_nesting_crashes_the_check() -> None:
    assert schema_problem(nested(MAX_SCHEMA_DEPTH // 2 - 1)) is None
    for levels in (MAX_SCHEMA_DEPTH, 100_000):  # Rust's recursion would overflow the stack
        assert schema_problem(nested(levels)) == "it is nested too deeply"
    wide = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5000)}}
    assert schema_problem(wide) is None
