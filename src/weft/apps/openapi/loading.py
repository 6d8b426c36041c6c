"""Reading an OpenAPI document (JSON or YAML) safely, then validating it.

YAML is read with PyYAML's safe loader: no objects, and timestamps stay strings. A document is
rebuilt as plain JSON values with a bound on its expanded size, so a "billion laughs" of
aliases is refused while it is being copied, not after it filled the memory.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import yaml
from openapi_spec_validator.validation import (
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
)
from referencing.exceptions import Unresolvable

from weft.errors import InvalidInput

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# JSON values (objects, arrays, scalars) a document may expand to: the largest public OpenAPI
# documents (GitHub's, Stripe's) hold well under two million.
MAX_VALUES = 5_000_000
MAX_YAML_ALIASES = 10_000
MAX_VALIDATION_ERRORS = 5


class InvalidDocument(InvalidInput):
    """The document cannot be imported: not YAML/JSON, not OpenAPI 3.0/3.1, or invalid."""

    error_code = "INVALID_OPENAPI"


class _Loader(yaml.SafeLoader):
    """Safe loading, timestamps kept as text, aliases counted."""

    aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise InvalidDocument(f"The YAML uses more than {MAX_YAML_ALIASES} aliases")
        return super().compose_node(parent, index)


# Dates stay strings (JSON has none); every other implicit type as the safe loader reads it.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_document(raw: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """The document as plain JSON values; 400 INVALID_OPENAPI when it is not YAML or JSON."""
    if isinstance(raw, dict):
        return _plain(raw)
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes")
    text = raw.decode("utf-8-sig", errors="replace") if isinstance(raw, bytes) else raw
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            value = json.loads(stripped)
        else:
            value = yaml.load(stripped, Loader=_Loader)  # a SafeLoader subclass
    except RecursionError:
        raise InvalidDocument("The document is nested too deeply") from None
    except (ValueError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise InvalidDocument(f"The document is neither JSON nor YAML: {reason}") from None
    if not isinstance(value, dict):
        raise InvalidDocument("The document is not an OpenAPI object (a mapping at the top)")
    return _plain(value)


def _plain(value: Any) -> dict[str, Any]:
    """A copy with string keys and JSON scalars; refused past MAX_VALUES values expanded."""
    if _expanded_size(value, {}, 0) > MAX_VALUES:
        raise InvalidDocument(
            f"The document expands to more than {MAX_VALUES} values (YAML aliases?)"
        )
    return _copy(value)


def _expanded_size(item: Any, known: dict[int, int], depth: int) -> int:
    """How many values `item` holds once every alias is expanded (each shared part counted
    once per use, measured once: linear in the document as written)."""
    if depth > 200:
        raise InvalidDocument("The document is nested too deeply")
    if not isinstance(item, dict | list):
        return 1
    if id(item) not in known:
        children = item.values() if isinstance(item, dict) else item
        known[id(item)] = 1 + sum(_expanded_size(child, known, depth + 1) for child in children)
    return known[id(item)]


def _copy(item: Any) -> Any:
    if isinstance(item, dict):
        return {str(key): _copy(inner) for key, inner in item.items()}
    if isinstance(item, list | tuple):
        return [_copy(inner) for inner in item]
    if item is None or isinstance(item, str | int | float | bool):
        return item
    return str(item)  # a YAML binary or set: text, never an object


def openapi_version(document: dict[str, Any]) -> str:
    """`3.0.x` or `3.1.x`; 400 naming what the document is instead."""
    version = document.get("openapi")
    if isinstance(version, str) and version.startswith(("3.0.", "3.1.")):
        return version
    if "swagger" in document:
        raise InvalidDocument(
            f"This is a Swagger {document['swagger']} document; convert it to OpenAPI 3 "
            "(for example with swagger2openapi) and import that"
        )
    if version is None:
        raise InvalidDocument("The document has no `openapi` field: it is not an OpenAPI document")
    raise InvalidDocument(f"OpenAPI {version} is not supported (3.0 and 3.1 are)")


class _V30(OpenAPIV30SpecValidator):
    resolver_handlers: dict[str, Any] = {}  # no file or network reads: local $refs only


class _V31(OpenAPIV31SpecValidator):
    resolver_handlers: dict[str, Any] = {}


def validate_document(document: dict[str, Any]) -> str:
    """Check the document against its OpenAPI version's rules; its version, or 400."""
    version = openapi_version(document)
    validator = (_V31 if version.startswith("3.1.") else _V30)(document)
    try:
        errors = list(itertools.islice(validator.iter_errors(), MAX_VALIDATION_ERRORS))
    except Unresolvable as error:
        raise InvalidDocument(f"A $ref cannot be resolved: {_ref_of(error)}") from None
    except RecursionError:
        raise InvalidDocument("The document is nested too deeply to validate") from None
    if errors:
        reasons = "; ".join(_reason(error) for error in errors)
        raise InvalidDocument(f"The document is not valid OpenAPI {version}: {reasons}")
    return version


def _ref_of(error: Unresolvable) -> str:
    ref = str(getattr(error, "ref", "") or error)
    shown = ("#" + ref if ref.startswith("/") else ref)[:200]
    if ref.startswith(("/", "#")):
        return shown
    return shown + " (only references inside the document are followed)"


def _reason(error: Any) -> str:
    path = "/".join(str(part) for part in getattr(error, "absolute_path", []) or [])
    message = str(getattr(error, "message", error)).splitlines()[0]
    if len(message) > 200:
        message = message[:199] + "…"
    return f"{path or '(root)'}: {message}"
