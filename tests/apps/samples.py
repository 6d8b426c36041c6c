"""Schema-valid sample parameters for an action, made the same way every run.

Hand-made values for the common shapes (enums, formats, bounds, examples the vendor gave) and
Hypothesis's regex strategy, derandomised, for a string `pattern`: the conformance test is
deterministic, and every sample is checked against the schema it came from with the validator
`build_request` uses (RE2 for patterns), so the request is really made.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from weft.apps.json_schema import Re2Validator

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
    # The first match is enough: shrinking it to the smallest took most of the test's time.
    phases=(Phase.generate,),
    suppress_health_check=list(HealthCheck),
    deadline=None,
)
_FORMATS = jsonschema.FormatChecker()
MAX_DEPTH = 30  # action schemas are finite (cycles cut when imported): only a guard


class NoSample(AssertionError):
    """No value can be made for a schema (a pattern nothing matches, say)."""


def _valid(schema: dict[str, Any], value: Any) -> bool:
    return not any(True for _ in Re2Validator(schema, format_checker=_FORMATS).iter_errors(value))


def _first_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        return "object"
    return kind


def _handmade(schema: Any, depth: int, *, every_property: bool) -> Any:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
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
            return _one_branch(schema, key, depth, every_property=every_property)
    if schema.get("allOf"):
        return _all_parts(schema, depth, every_property=every_property)
    return _plain(schema, depth, every_property=every_property)


def _one_branch(schema: dict[str, Any], key: str, depth: int, *, every_property: bool) -> Any:
    """The first branch (non-null ones first) whose value the whole schema accepts."""
    rest = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
    base = _plain(rest, depth, every_property=every_property) if _first_type(rest) else None
    options = sorted(schema[key], key=lambda option: _first_type(option) == "null")
    made: list[Any] = []
    # A branch's bare value may fit several branches of a oneOf ({} when none requires
    # anything): its value with every property filled tells them apart.
    for option, every in ((o, e) for o in options for e in dict.fromkeys([every_property, True])):
        try:
            value = _handmade(option, depth + 1, every_property=every)
        except NoSample:
            continue
        if isinstance(base, dict) and isinstance(value, dict):
            value = base | value
        if _valid(schema, value):
            return value
        made.append(value)
    if not made:
        raise NoSample(f"no branch of {key} can be sampled")
    return made[0]


def _all_parts(schema: dict[str, Any], depth: int, *, every_property: bool) -> Any:
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    merged = _plain(rest, depth, every_property=every_property) if _first_type(rest) else {}
    for part in schema["allOf"]:
        value = _handmade(part, depth + 1, every_property=every_property)
        if not isinstance(value, dict) or not isinstance(merged, dict):
            return value
        merged |= value
    return merged


def _plain(schema: dict[str, Any], depth: int, *, every_property: bool) -> Any:
    kind = _first_type(schema)
    if kind == "object":
        return _object(schema, depth, every_property=every_property)
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
        return regex_sample(
            schema["pattern"], int(schema.get("minLength", 0)), schema.get("maxLength")
        )
    text = FORMATS.get(schema.get("format", ""), "sample")
    minimum = int(schema.get("minLength", 0))
    text = text + "x" * max(0, minimum - len(text))
    return text[: schema["maxLength"]] if "maxLength" in schema else text


def _object(schema: dict[str, Any], depth: int, *, every_property: bool) -> dict[str, Any]:
    """Required properties (every one at the top), an optional one only when it can be made."""
    properties = schema.get("properties") or {}
    required = schema.get("required", [])
    wanted = list(dict.fromkeys([*required, *properties])) if every_property else required
    value: dict[str, Any] = {}
    for name in wanted:
        below = properties.get(name) or {}
        if below.get("readOnly"):
            continue
        try:
            item = _handmade(below, depth + 1, every_property=False)
        except NoSample:
            if name in required:
                raise
            continue
        # An optional property whose hand-made value its own schema refuses is left out.
        if name in required or _valid(below, item):
            value[name] = item
    return value


def sample(schema: dict[str, Any]) -> Any:
    """A value valid against `schema`: every top-level property filled, required ones below."""
    value = _handmade(schema, 0, every_property=True)
    if _valid(schema, value):
        return value
    raise AssertionError(f"no valid sample for {schema} (made {value!r})")


@functools.lru_cache(maxsize=1024)
def regex_sample(pattern: str, low: int = 0, high: int | None = None) -> str:
    """A string that `pattern` matches whole (no stray trailing newline), within the bounds."""
    top = 10_000 if high is None else high
    try:
        return find(
            st.from_regex(pattern, fullmatch=True),
            lambda text: low <= len(text) <= top and not text.endswith("\n"),
            settings=_SEARCH,
        )
    except HypothesisException as error:
        raise NoSample(f"nothing matches {pattern!r} in {low}..{top} characters") from error
