"""One OpenAPI operation -> one Action: its parameters as one JSON schema, and how they go out.

Path, query and header parameters become top-level parameters (renamed where their name is not
an identifier, the wire name kept in `wire_names`). A JSON or form body's object properties join
them when no name clashes (else the whole body is one `body` parameter). Operations Weft cannot
call as described (a multipart or binary body, a required cookie) are skipped with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from weft.apps.model import Action
from weft.apps.openapi.naming import base_param_name, label_of, param_name
from weft.apps.openapi.refs import Refs
from weft.apps.openapi.schemas import SchemaConverter, merged_object

PARAMETER_DEPTH = 8
OUTPUT_DEPTH = 4
DESCRIPTION_CHARS = 1000
_PATH_VARIABLE = re.compile(r"\{([^{}]+)\}")
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}
_STYLES = {"spaceDelimited": "space", "pipeDelimited": "pipe", "deepObject": "deep_object"}


class Skipped(Exception):
    """The operation cannot be called as its document describes it."""


@dataclass
class Operation:
    """An operation as the document holds it, with where it is."""

    method: str
    path: str
    spec: dict[str, Any]
    path_item: dict[str, Any]

    @property
    def key(self) -> str:
        """`GET /pets/{id}`: how a manifest names an operation without an operationId."""
        return f"{self.method} {self.path}"


@dataclass
class _Params:
    properties: dict[str, Any]
    required: list[str]
    query: list[str]
    headers: list[str]
    wire: dict[str, str]
    styles: dict[str, str]
    taken: set[str]


def derive_action(
    op: Operation,
    name: str,
    refs: Refs,
    converter: SchemaConverter,
    warnings: list[str],
    *,
    label: str | None = None,
    description: str | None = None,
) -> Action:
    """The action for `op`; raises Skipped (with why) when it cannot be called as described."""
    params = _Params({}, [], [], [], {}, {}, set())
    path = _parameters(op, refs, converter, params, warnings)
    schema: dict[str, Any] = {"type": "object", "properties": params.properties}
    body_param, body_format = _body(op, refs, converter, params, warnings)
    if params.required:
        schema["required"] = params.required
    if op.spec.get("callbacks"):
        warnings.append(f"{op.key}: callbacks are not imported")
    summary = str(op.spec.get("summary") or "").strip()
    about = str(op.spec.get("description") or summary).strip()
    try:
        return Action(
            name=name,
            label=(label or summary or label_of(name))[:200],
            description=(description if description is not None else about)[:DESCRIPTION_CHARS],
            method=op.method,  # type: ignore[arg-type]
            path=path,
            parameters=schema,
            query=params.query,
            header_params=params.headers,
            wire_names=params.wire,
            query_styles=params.styles,  # type: ignore[arg-type]
            body_param=body_param,
            body_format=body_format,  # type: ignore[arg-type]
            output=_output(op, refs, converter),
            effect="read" if op.method == "GET" else "write",
        )
    except ValidationError as error:
        reason = error.errors()[0]["msg"] if error.errors() else str(error)
        raise Skipped(f"its schema is not usable: {reason}"[:300]) from None


def _parameters(
    op: Operation, refs: Refs, converter: SchemaConverter, params: _Params, warnings: list[str]
) -> str:
    """Fill `params` from the path-level and operation-level parameters; the path template."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*(op.path_item.get("parameters") or []), *(op.spec.get("parameters") or [])]:
        found = refs.deref(raw)
        if isinstance(found, dict) and "name" in found and "in" in found:
            merged[(str(found["in"]), str(found["name"]))] = found
    renamed: dict[str, str] = {}
    for (place, wire), spec in merged.items():
        if place == "header" and wire.lower() in _IGNORED_HEADERS:
            continue
        if place == "cookie":
            if spec.get("required"):
                raise Skipped(f"it needs the cookie {wire!r}")
            warnings.append(f"{op.key}: optional cookie parameter {wire!r} is not sent")
            continue
        name = param_name(wire, params.taken)
        params.properties[name] = _parameter_schema(spec, converter)
        if spec.get("required") or place == "path":
            params.required.append(name)
        if name != wire:
            params.wire[name] = wire
        if place == "path":
            renamed[wire] = name
            params.wire.pop(name, None)  # the template carries the new name
        elif place == "query":
            params.query.append(name)
            _query_style(spec, params.properties[name], name, params, op, warnings)
        elif place == "header":
            params.headers.append(name)

    def placeholder(match: re.Match[str]) -> str:
        wire = match.group(1)
        if wire not in renamed:  # declared nowhere: a required string, as the path needs it
            name = renamed[wire] = param_name(wire, params.taken)
            params.properties[name] = {"type": "string"}
            params.required.append(name)
            warnings.append(f"{op.key}: path parameter {wire!r} is not declared")
        return "{" + renamed[wire] + "}"

    return _PATH_VARIABLE.sub(placeholder, op.path)


def _parameter_schema(spec: dict[str, Any], converter: SchemaConverter) -> dict[str, Any]:
    raw = spec.get("schema")
    if raw is None and isinstance(spec.get("content"), dict) and spec["content"]:
        raw = next(iter(spec["content"].values())).get("schema")
    schema = converter.convert(raw, mode="request", max_depth=PARAMETER_DEPTH)
    if isinstance(spec.get("description"), str) and spec["description"].strip():
        schema["description"] = spec["description"].strip()[:500]
    if spec.get("deprecated"):
        schema["deprecated"] = True
    return schema


def _query_style(
    spec: dict[str, Any],
    schema: dict[str, Any],
    name: str,
    params: _Params,
    op: Operation,
    warnings: list[str],
) -> None:
    style = spec.get("style", "form")
    explode = spec.get("explode", style == "form")
    kind = schema.get("type")
    if style in _STYLES:
        params.styles[name] = _STYLES[style]
    elif style == "form" and not explode and kind == "array":
        params.styles[name] = "comma"
    elif style == "form" and not explode and kind == "object":
        warnings.append(f"{op.key}: object query parameter {name!r} is sent exploded")


_JSON = re.compile(r"^application/([\w.+-]+\+)?json\b|^\*/\*$")


def _body(
    op: Operation, refs: Refs, converter: SchemaConverter, params: _Params, warnings: list[str]
) -> tuple[str | None, str]:
    """Add the request body to `params`; (body_param, body_format)."""
    body = refs.deref(op.spec.get("requestBody"))
    content = body.get("content") if isinstance(body, dict) else None
    if not content:
        return None, "json" if op.method in ("GET", "DELETE") else "none"
    required = bool(body.get("required"))
    media = next((m for m in content if _JSON.match(m.lower())), None)
    form = "application/x-www-form-urlencoded" in content
    if media is None and not form:
        kinds = ", ".join(sorted(content))
        if required:
            raise Skipped(f"its body is {kinds} (only JSON and form bodies are sent)")
        warnings.append(f"{op.key}: optional {kinds} body is not sent")
        return None, "none"
    if op.method == "GET":
        warnings.append(f"{op.key}: a GET body is not sent")
        return None, "json"
    chosen = refs.deref(
        content[media if media is not None else "application/x-www-form-urlencoded"]
    )
    schema = converter.convert(
        (chosen or {}).get("schema"), mode="request", max_depth=PARAMETER_DEPTH
    )
    body_format = "json" if media is not None else "form"
    flat = merged_object(schema) if op.method != "DELETE" else None
    names = _flat_names(flat, params.taken) if flat is not None else None
    if flat is not None and names is not None:
        _flatten(flat, names, params)
        return None, body_format
    name = param_name("body", params.taken)
    params.properties[name] = schema
    if required:
        params.required.append(name)
    return name, body_format


def _flat_names(flat: dict[str, Any], taken: set[str]) -> dict[str, str] | None:
    """Parameter names for the body's properties, or None when one would clash."""
    names = {wire: base_param_name(wire) for wire in flat["properties"]}
    chosen = list(names.values())
    if len(set(chosen)) != len(chosen) or set(chosen) & taken:
        return None
    return names


def _flatten(flat: dict[str, Any], names: dict[str, str], params: _Params) -> None:
    for wire, schema in flat["properties"].items():
        name = names[wire]
        params.taken.add(name)
        params.properties[name] = schema
        if name != wire:
            params.wire[name] = wire
        # Required inside the body even when the body itself is optional: a flattened body is
        # always sent (`{}` at least), and then its own `required` applies.
        if wire in flat["required"]:
            params.required.append(name)


def _output(op: Operation, refs: Refs, converter: SchemaConverter) -> dict[str, Any]:
    responses = op.spec.get("responses") or {}
    for status in sorted(str(code) for code in responses):
        if not status.startswith("2"):
            continue
        response = refs.deref(responses.get(status, responses.get(_int(status))))
        content = response.get("content") if isinstance(response, dict) else None
        media = next((m for m in content or {} if _JSON.match(m.lower())), None)
        if media is None:
            return {}
        found = refs.deref(content[media]) or {}
        return converter.convert(found.get("schema"), mode="response", max_depth=OUTPUT_DEPTH)
    return {}


def _int(text: str) -> Any:
    return int(text) if text.isdigit() else text
