"""Schema-valid sample parameters for an action, made the same way every run.

Hand-made values for the common shapes (enums, formats, bounds, examples the vendor gave) and
Hypothesis's regex strategy, derandomised, for a string `pattern`: the conformance test is
deterministic, and every sample is checked against the schema it came from.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st

FORMATS = {
    "date-time": "2024-01-02T03:04:05Z",
    "date": "2024-01-02",
    "time": "03:04:05Z",
    "email": "user@example.com",
    "uri": "https://example.com/x",
    "url": "https://example.com/x",
    "uri-reference": "https://example.com/x",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
    "byte": "aGVsbG8=",
    "int64": "1",
}
_SEARCH = settings(
    database=None,
    derandomize=True,
    max_examples=200,
    suppress_health_check=list(HealthCheck),
    deadline=None,
)


def _valid(schema: dict[str, Any], value: Any) -> bool:
    try:
        jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError:
        return False
    return True


def _first_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        return "object"
    return kind


def _handmade(schema: Any, depth: int, *, every_property: bool) -> Any:
    if not isinstance(schema, dict) or depth > 6:
        return "sample"
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v not in (None, "")), schema["enum"][0])
    for key in ("example", "default"):
        if key in schema and _valid(schema, schema[key]):
            return schema[key]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples and _valid(schema, examples[0]):
        return examples[0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            options = [o for o in schema[key] if _first_type(o) != "null"] or schema[key]
            return _handmade(options[0], depth + 1, every_property=every_property)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _handmade(part, depth + 1, every_property=every_property)
            if isinstance(value, dict):
                merged |= value
            else:
                return value
        return merged
    kind = _first_type(schema)
    if kind == "object":
        properties = schema.get("properties") or {}
        wanted = list(properties) if every_property else schema.get("required", [])
        return {
            name: _handmade(properties.get(name, {}), depth + 1, every_property=False)
            for name in wanted
            if not (properties.get(name) or {}).get("readOnly")
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [_handmade(schema.get("items", {}), depth + 1, every_property=False)] * count
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(1, int(low) + 1)
        if "maximum" in schema:
            value = min(value, int(schema["maximum"]))
        return value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if isinstance(schema.get("pattern"), str):
        return regex_sample(schema["pattern"], schema)
    text = FORMATS.get(schema.get("format", ""), "sample")
    minimum = int(schema.get("minLength", 0))
    text = text + "x" * max(0, minimum - len(text))
    return text[: schema["maxLength"]] if "maxLength" in schema else text


def sample(schema: dict[str, Any]) -> Any:
    """A value valid against `schema`: every top-level property filled, required ones below."""
    value = _handmade(schema, 0, every_property=True)
    if _valid(schema, value):
        return value
    # Leave out the optional properties whose hand-made value their own schema refuses.
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        value = {
            name: item
            for name, item in value.items()
            if name in schema.get("required", []) or _valid(properties.get(name, {}), item)
        }
        if _valid(schema, value):
            return value
    raise AssertionError(f"no valid sample for {schema} (made {value!r})")


def regex_sample(pattern: str, schema: dict[str, Any]) -> str:
    """A string matching `pattern` within the schema's length bounds."""
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 10_000))
    return find(st.from_regex(pattern), lambda text: low <= len(text) <= high, settings=_SEARCH)
