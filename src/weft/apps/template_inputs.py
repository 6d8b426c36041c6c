"""What a host may inject into a template: the JSON Schema of its inputs, where each value goes
in the graph (`x-weft-targets`), and the substitution that makes a new workflow's nodes.

A target is `{node, path}`: a node id of the template's version and a dotted path inside that
node's `data` (`params.channel`, `headers.0.value`). The value replaces what the template holds
there, so the template itself stays a valid, published graph with a default in that place.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from weft.apps.json_schema import schema_problem, value_problems
from weft.errors import InvalidInput

TARGETS = "x-weft-targets"
MAX_SCHEMA_BYTES = 16_384
MAX_INPUT_BYTES = 32_768  # the injected values, as JSON
MAX_TARGETS = 20
_SEGMENT = re.compile(r"^[A-Za-z0-9_$-]{1,100}$")


@dataclass(frozen=True)
class Target:
    """One place a value goes: node `node`'s `data` at `path` (segments)."""

    node: str
    path: tuple[str, ...]


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(f"inputs: {message}", error_code="INVALID_TEMPLATE_INPUTS")


def _json_size(value: Any) -> int:
    """Bytes of `value` as JSON; a value nested too deeply to write is refused, not a 500."""
    try:
        return len(json.dumps(value).encode())
    except (RecursionError, ValueError) as error:
        raise _invalid("nested too deeply") from error


def _parse_target(raw: Any, where: str) -> Target:
    if not isinstance(raw, dict) or set(raw) != {"node", "path"}:
        raise _invalid(f"{where} must be {{node, path}}")
    node, path = raw["node"], raw["path"]
    if not isinstance(node, str) or not node or not isinstance(path, str):
        raise _invalid(f"{where}: node and path are strings")
    segments = tuple(path.split("."))
    if not all(_SEGMENT.match(s) for s in segments):
        raise _invalid(f"{where}.path {path!r} is not a dotted path (letters, digits, _ - $)")
    return Target(node, segments)


def input_targets(schema: dict[str, Any]) -> dict[str, list[Target]]:
    """Each property's targets (a stored schema was checked when saved)."""
    found: dict[str, list[Target]] = {}
    for name, prop in (schema.get("properties") or {}).items():
        raw = prop.get(TARGETS) if isinstance(prop, dict) else None
        found[name] = [_parse_target(t, name) for t in raw or []]
    return found


def _container(data: Any, target: Target) -> tuple[Any, str] | None:
    """The dict or list holding the target's last segment, and that segment; None if absent."""
    here = data
    for segment in target.path[:-1]:
        here = _step(here, segment)
        if here is None:
            return None
    last = target.path[-1]
    if isinstance(here, dict) or (isinstance(here, list) and _step(here, last) is not None):
        return here, last
    return None


def _step(here: Any, segment: str) -> Any:
    if isinstance(here, dict):
        return here.get(segment)
    if isinstance(here, list) and segment.isdigit() and int(segment) < len(here):
        return here[int(segment)]
    return None


def check_inputs_schema(schema: Any, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The inputs schema of a template over `nodes`, or 400 naming what is wrong."""
    if schema is None:
        return {}
    if not isinstance(schema, dict):
        raise _invalid("must be a JSON Schema object")
    if not schema:
        return {}
    if _json_size(schema) > MAX_SCHEMA_BYTES:
        raise _invalid(f"the schema is larger than {MAX_SCHEMA_BYTES} bytes")
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise _invalid('must be {"type": "object", "properties": {...}}')
    problem = schema_problem(schema)
    if problem:
        raise _invalid(f"not a JSON Schema: {problem}")
    by_id = {str(n.get("id")): n for n in nodes}
    for name, prop in schema["properties"].items():
        raw = prop.get(TARGETS) if isinstance(prop, dict) else None
        if raw is None:
            continue
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_TARGETS:
            raise _invalid(f"{name}.{TARGETS} must be a list of 1 to {MAX_TARGETS} targets")
        for index, item in enumerate(raw):
            target = _parse_target(item, f"{name}.{TARGETS}[{index}]")
            node = by_id.get(target.node)
            if node is None:
                raise _invalid(f"{name}: the template has no node {target.node!r}")
            if _container(node.get("data"), target) is None:
                raise _invalid(
                    f"{name}: node {target.node!r} has nothing at data.{'.'.join(target.path)}"
                )
    return schema


def injected_nodes(
    schema: dict[str, Any], nodes: list[dict[str, Any]], inputs: Any
) -> list[dict[str, Any]]:
    """A copy of `nodes` with `inputs` (checked against `schema`, defaults filled) in place."""
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise _invalid("must be a JSON object")
    if _json_size(inputs) > MAX_INPUT_BYTES:
        raise InvalidInput(
            f"inputs are larger than {MAX_INPUT_BYTES} bytes", error_code="INPUTS_TOO_LARGE"
        )
    if not schema:
        if inputs:
            raise _invalid("this template takes no inputs")
        return copy.deepcopy(nodes)
    problems = value_problems(schema, inputs, "inputs")
    if problems:
        raise InvalidInput(
            "The inputs do not fit the template: " + "; ".join(problems),
            error_code="INVALID_TEMPLATE_INPUTS",
            details={"errors": problems},
        )
    copied = copy.deepcopy(nodes)
    by_id = {str(n.get("id")): n for n in copied}
    for name, targets in input_targets(schema).items():
        prop = schema["properties"][name]
        if name in inputs:
            value = inputs[name]
        elif isinstance(prop, dict) and "default" in prop:
            value = prop["default"]
        else:
            continue
        for target in targets:
            node = by_id.get(target.node)
            holder = _container(node.get("data") if node else None, target)
            if holder is None:  # checked when the template was saved; its version is fixed
                continue
            container, last = holder
            if isinstance(container, list):
                container[int(last)] = copy.deepcopy(value)
            else:
                container[last] = copy.deepcopy(value)
    return copied
