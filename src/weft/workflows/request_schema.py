"""The JSON Schema a workflow's request structure implies: what its callers may send.

A start node's `sample_payload` is an example, not a declared schema, so the schema says what
the example shows: each value's type, an object's keys, a list's first item. The request
structure route shows it as is; an MCP server's workflow tool asks for the keys the example
gives (a model fills what it is asked for).
"""

from __future__ import annotations

from typing import Any

ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}


def json_schema_of(value: Any) -> dict[str, Any]:
    """A JSON Schema describing a sample value."""
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: json_schema_of(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": json_schema_of(value[0]) if value else {}}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    return {"type": "null"} if value is None else {}


def input_schema_of(sample: Any) -> dict[str, Any]:
    """An object schema for callers of a workflow whose trigger outputs `sample`.

    The example's keys are required, except those whose example is null (it shows no type:
    any value goes there). Without an object example, any object goes (a tool's arguments
    are always an object).
    """
    if not isinstance(sample, dict) or not sample:
        return dict(ANY_OBJECT)
    properties = {}
    for key, value in sample.items():
        properties[key] = {} if value is None else json_schema_of(value)
    required = [key for key, value in sample.items() if value is not None]
    return {"type": "object", "properties": properties, "required": required}
