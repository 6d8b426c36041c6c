"""OpenAPI schema objects -> self-contained JSON Schema (2020-12) for parameters and outputs.

`$ref`s are expanded in place; a schema met again inside itself (a tree, a linked list) is cut
there to a stub with a description, and nesting past a depth is cut the same way, so every
action's schema is finite and small. OpenAPI 3.0's dialect (`nullable`, boolean
`exclusiveMinimum`) is rewritten; annotations the editor has no use for (examples, `x-`
extensions, `xml`, `discriminator`) are dropped; patterns RE2 cannot run are dropped.
"""

from __future__ import annotations

from typing import Any, Literal

import re2

from weft.apps.openapi.refs import Refs, ref_name

Mode = Literal["request", "response"]

_KEPT = {
    "type", "format", "enum", "const", "default", "description", "title", "required",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
    "minProperties", "maxProperties", "readOnly", "writeOnly", "deprecated",
}  # fmt: skip
_ONE = {"items", "additionalProperties", "not", "propertyNames", "contains"}
_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
_MAPS = {"properties", "patternProperties"}
DESCRIPTION_CHARS = 500
# What an output schema keeps: the data picker shows names and types, and a catalogue of
# hundreds of actions stays small (descriptions and bounds are for filling in parameters).
_OUTPUT_KEPT = {"type", "format", "enum", "const", "title", "required"}


class SchemaConverter:
    """Converts schemas of one document (3.0 or 3.1), collecting what it had to drop."""

    def __init__(self, refs: Refs, version: str, warnings: list[str]) -> None:
        self.refs = refs
        self.v30 = version.startswith("3.0.")
        self.warnings = warnings

    def convert(self, schema: Any, *, mode: Mode, max_depth: int) -> dict[str, Any]:
        """`schema` expanded and rewritten; `{}` for a missing or boolean-true schema."""
        converted = self._walk(schema, mode, (), max_depth)
        return converted if isinstance(converted, dict) else {}

    def _walk(self, node: Any, mode: Mode, seen: tuple[str, ...], depth: int) -> Any:
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            return {}
        if isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                return _stub(
                    self.refs.lookup(ref), f"{ref_name(ref)} again (recursive, not expanded)"
                )
            target = self._walk(self.refs.lookup(ref), mode, (*seen, ref), depth)
            extra = {k: v for k, v in node.items() if k in ("description", "title", "default")}
            return {**target, **self._walk(extra, mode, seen, depth)} if extra else target
        if depth <= 0:
            return _stub(node, "nested too deeply to describe here")
        out: dict[str, Any] = {}
        hidden: set[str] = set()
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                hidden = {name for name, sub in value.items() if _hidden(self.refs, sub, mode)}
            if key in _MAPS and isinstance(value, dict):
                out[key] = {
                    name: self._walk(sub, mode, seen, depth - 1)
                    for name, sub in value.items()
                    if not _hidden(self.refs, sub, mode)
                }
            elif key in _LISTS and isinstance(value, list):
                out[key] = [self._walk(sub, mode, seen, depth - 1) for sub in value]
            elif key in _ONE and isinstance(value, dict | bool):
                out[key] = self._walk(value, mode, seen, depth - 1)
            elif key == "pattern" and isinstance(value, str):
                if _runs_on_re2(value):
                    out[key] = value
                else:
                    self.warnings.append(f"pattern {value[:80]!r} dropped: RE2 cannot run it")
            elif mode == "response" and key not in _OUTPUT_KEPT:
                continue
            elif key == "description" and isinstance(value, str):
                out[key] = _short(value)
            elif key in _KEPT:
                out[key] = value
        _pin_discriminator(node, out)
        # A property the other side sets is not required from this one; any other required
        # name stays, declared or not (JSON Schema: it must be present, with any value).
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in hidden]
            if not out["required"]:
                del out["required"]
        return self._dialect(node, out)

    def _dialect(self, node: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        if not self.v30:
            return out
        for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(out.get(bound), bool) and out.pop(bound) and limit in out:
                out[bound] = out.pop(limit)
        if node.get("nullable") is True:
            kind = out.get("type")
            if isinstance(kind, str):
                out["type"] = [kind, "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        return out


def _pin_discriminator(node: dict[str, Any], out: dict[str, Any]) -> None:
    """Each `oneOf`/`anyOf` branch of a discriminated union says its tag as a `const`.

    The discriminator itself is dropped, so without this a branch would accept any tag (and a
    sample or a user's value could name a branch the API does not have).
    """
    discriminator = node.get("discriminator")
    if not isinstance(discriminator, dict):
        return
    if not isinstance(discriminator.get("propertyName"), str):
        return
    tag = discriminator["propertyName"]
    mapping = discriminator.get("mapping") if isinstance(discriminator.get("mapping"), dict) else {}
    by_ref = {ref: value for value, ref in mapping.items()}
    for key in ("oneOf", "anyOf"):
        for raw, branch in zip(node.get(key) or [], out.get(key) or [], strict=False):
            ref = raw.get("$ref") if isinstance(raw, dict) else None
            if not isinstance(ref, str) or not isinstance(branch, dict):
                continue
            properties = branch.setdefault("properties", {})
            declared = properties.get(tag) if isinstance(properties.get(tag), dict) else {}
            properties[tag] = {**declared, "const": by_ref.get(ref, ref_name(ref))}
            if tag not in branch.setdefault("required", []):
                branch["required"].append(tag)


def _hidden(refs: Refs, schema: Any, mode: Mode) -> bool:
    """A property the other side sets: readOnly in requests, writeOnly in responses.

    Said on the property or on what its `$ref` names: `{$ref: money, readOnly: true}` (PayPal)
    is how 3.0 documents mark a shared schema read-only in one place, and validators honour it.
    An array whose items are all the other side's (Apideck's `followers`) is too.
    """
    key = "readOnly" if mode == "request" else "writeOnly"
    if isinstance(schema, dict) and schema.get(key) is True:
        return True
    target = refs.deref(schema) if isinstance(schema, dict) else schema
    if not isinstance(target, dict):
        return False
    if isinstance(target.get("items"), dict) and _hidden(refs, target["items"], mode):
        return True
    return bool(target.get(key))


def _stub(target: Any, why: str) -> dict[str, Any]:
    stub: dict[str, Any] = {"description": why}
    if isinstance(target, dict) and isinstance(target.get("type"), str):
        stub["type"] = target["type"]
    return stub


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1] + "…"


def _runs_on_re2(pattern: str) -> bool:
    try:
        re2.compile(pattern)
    except re2.error:
        return False
    return True


def merged_object(schema: dict[str, Any]) -> dict[str, Any] | None:
    """An object schema's properties and required, `allOf` parts merged; None if not an object."""
    parts = [schema, *[part for part in schema.get("allOf", []) if isinstance(part, dict)]]
    if any(("oneOf" in part or "anyOf" in part) for part in parts):
        return None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in parts:
        kind = part.get("type")
        if kind not in (None, "object") and kind != ["object", "null"]:
            return None
        properties.update(part.get("properties", {}))
        required += [name for name in part.get("required", []) if name not in required]
    if not properties:
        return None
    return {"properties": properties, "required": [n for n in required if n in properties]}
