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
    body_param, body_format, media = _body(op, refs, converter, params, warnings)
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
            # A JSON body under its own media type (JSON:API's `application/vnd.api+json`):
            # servers that check it refuse plain `application/json`.
            headers={"content-type": media} if media else {},
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
        schema = _parameter_schema(spec, converter)
        if place != "path" and "content" not in spec and _nested_items(schema):
            # OAS gives no way to spell an array of objects or arrays in a query, header or
            # cookie (style values, 4.8.12.4): no request could carry it as described.
            if spec.get("required"):
                raise Skipped(f"its {place} parameter {wire!r} is an array of non-primitives")
            warnings.append(
                f"{op.key}: {place} parameter {wire!r} (an array of non-primitives) "
                "is not sent: OpenAPI defines no way to write it"
            )
            continue
        name = param_name(wire, params.taken)
        params.properties[name] = schema
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


def _shape(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a non-null value meets: the one non-null branch of a nullable anyOf/oneOf."""
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key) or [] if isinstance(b, dict)]
        kept = [b for b in branches if b.get("type") != "null"]
        if "type" not in schema and len(kept) == 1 and len(branches) == 2:
            return kept[0]
    return schema


def _kind(schema: dict[str, Any]) -> str | None:
    kind = _shape(schema).get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _nested_items(schema: dict[str, Any]) -> bool:
    shape = _shape(schema)
    items = shape.get("items") if _kind(schema) == "array" else None
    return isinstance(items, dict) and _kind(items) in ("object", "array")


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
    kind = _kind(schema)
    if style in _STYLES:
        params.styles[name] = _STYLES[style]
    elif style == "form" and not explode and kind == "array":
        params.styles[name] = "comma"
    elif style == "form" and not explode and kind == "object":
        warnings.append(f"{op.key}: object query parameter {name!r} is sent exploded")


_JSON = re.compile(r"^application/([\w.+-]+\+)?json\b|^\*/\*$")
_OWN_JSON = re.compile(r"^application/[\w.+-]+\+json\b")


def _body(
    op: Operation, refs: Refs, converter: SchemaConverter, params: _Params, warnings: list[str]
) -> tuple[str | None, str, str | None]:
    """Add the request body to `params`; (body_param, body_format, a JSON media type to name)."""
    body = refs.deref(op.spec.get("requestBody"))
    content = body.get("content") if isinstance(body, dict) else None
    if not content:
        return None, "json" if op.method in ("GET", "DELETE") else "none", None
    required = bool(body.get("required"))
    json_media = [m for m in content if _JSON.match(m.lower())]
    plain = [m for m in json_media if m.lower().startswith("application/json")]
    media = next(iter(plain or json_media), None)
    form = "application/x-www-form-urlencoded" in content
    if media is None and not form:
        kinds = ", ".join(sorted(content))
        if required:
            raise Skipped(f"its body is {kinds} (only JSON and form bodies are sent)")
        warnings.append(f"{op.key}: optional {kinds} body is not sent")
        return None, "none", None
    if op.method == "GET":
        warnings.append(f"{op.key}: a GET body is not sent")
        return None, "json", None
    chosen = refs.deref(
        content[media if media is not None else "application/x-www-form-urlencoded"]
    )
    schema = converter.convert(
        (chosen or {}).get("schema"), mode="request", max_depth=PARAMETER_DEPTH
    )
    body_format = "json" if media is not None else "form"
    named = media if media is not None and _OWN_JSON.match(media.lower()) else None
    flat = merged_object(schema) if op.method != "DELETE" else None
    names = _flat_names(flat, params.taken) if flat is not None else None
    if flat is not None and names is not None:
        _flatten(flat, names, params)
        return None, body_format, named
    name = param_name("body", params.taken)
    params.properties[name] = schema
    if required:
        params.required.append(name)
    return name, body_format, named


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
