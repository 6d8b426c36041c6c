"""A server on 127.0.0.1 that checks each request against the app's OpenAPI document.

Each shipped app is served under `/<slug>`; a request that its document's operation would
refuse (unknown path or method, missing or mistyped parameter, body off its schema, credentials
missing or in the wrong place) is answered 422 with openapi-core's reasons, anything else 200.
"""

from __future__ import annotations

import copy
import warnings
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest
from werkzeug.datastructures import ImmutableMultiDict

from servers import RecordingServer, Request

# Formats openapi-core checks; any other (Discord's `snowflake`, Twilio's `phone-number`) is an
# annotation, as JSON Schema says, and a real API decides what it accepts.
CHECKED_FORMATS = {
    "date", "date-time", "email", "uuid", "uri", "ipv4", "ipv6", "hostname", "byte", "binary",
    "int32", "int64", "float", "double", "password",
}  # fmt: skip


def _as_the_spec_reads(node: Any, document: dict[str, Any]) -> None:
    """Unknown formats dropped; a readOnly property required only in responses (OAS 3.0 4.8.25).

    A property's readOnly may sit behind a `$ref` (Apideck's `id: {$ref: Id}`); openapi-core
    enforces such a `required` on requests too.
    """
    if isinstance(node, dict):
        if isinstance(node.get("format"), str) and node["format"] not in CHECKED_FORMATS:
            del node["format"]
        properties = node.get("properties")
        if isinstance(properties, dict) and isinstance(node.get("required"), list):
            node["required"] = [
                name for name in node["required"] if not _read_only(properties.get(name), document)
            ]
            if not node["required"]:
                del node["required"]
        for value in node.values():
            _as_the_spec_reads(value, document)
    elif isinstance(node, list):
        for value in node:
            _as_the_spec_reads(value, document)


def _read_only(node: Any, document: dict[str, Any]) -> bool:
    """readOnly on the property or on what its `$ref` names (openapi-core honours both)."""
    if isinstance(node, dict) and node.get("readOnly") is True:
        return True
    return bool(_resolved(node, document).get("readOnly"))


def _resolved(node: Any, document: dict[str, Any]) -> dict[str, Any]:
    """`node` with local `$ref`s followed (an empty dict for anything else)."""
    for _ in range(20):
        if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
            break
        if not node["$ref"].startswith("#/"):
            return {}
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, dict) else None
        node = target
    return node if isinstance(node, dict) else {}


def _parameters_as_sent(document: dict[str, Any]) -> None:
    """A parameter schema `anyOf`/`oneOf` [X, null] is read as X.

    openapi-core picks how to split a parameter (style form, explode: `a=1&a=2` is an array)
    from the schema's top-level `type` alone, so an array under `anyOf` is read as one string
    and refused. A parameter in a path, query, header or cookie cannot carry a null (OAS 3.1
    4.8.12.4: values are serialised per RFC 6570, which has no null), so X is exactly what the
    wire can carry: nothing the document forbids is accepted.
    """
    found: list[Any] = list(((document.get("components") or {}).get("parameters") or {}).values())
    for item in (document.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        found += item.get("parameters") or []
        for operation in item.values():
            if isinstance(operation, dict):
                found += operation.get("parameters") or []
    for parameter in found:
        schema = _resolved(parameter, document).get("schema")
        if not isinstance(schema, dict) or "type" in schema:
            continue
        for key in ("anyOf", "oneOf"):
            branches = [_resolved(b, document) for b in schema.get(key) or []]
            kept = [b for b in branches if b.get("type") != "null"]
            if len(kept) == 1 and len(branches) == 2:
                rest = {k: v for k, v in schema.items() if k != key}
                _resolved(parameter, document)["schema"] = {**rest, **kept[0]}


class ValidatingApi(RecordingServer):
    """Validates every request under `/<slug>/...` against that app's document."""

    def __init__(self) -> None:
        self.documents: dict[str, OpenAPI] = {}
        self.bases: dict[str, str] = {}
        super().__init__()

    def serve(self, slug: str, document: dict[str, Any], base_path: str) -> str:
        """Check `/<slug>` requests against `document`; the base URL to call it with."""
        base = f"{self.url}/{slug}{base_path.rstrip('/')}"
        if self.bases.get(slug) == base:  # built once: it is the costly part
            return base
        document = copy.deepcopy(document)
        _as_the_spec_reads(document, document)
        _parameters_as_sent(document)
        schemes = document.get("components", {}).get("securitySchemes", {})
        for name, scheme in schemes.items():
            # An OAuth2 access token goes out as a bearer token (RFC 6750), which openapi-core
            # checks only when told so.
            if scheme.get("type") in ("oauth2", "openIdConnect"):
                schemes[name] = {"type": "http", "scheme": "bearer"}
            # HTTP auth schemes are case-insensitive (RFC 7235); openapi-core compares as typed.
            elif scheme.get("type") == "http" and isinstance(scheme.get("scheme"), str):
                scheme["scheme"] = scheme["scheme"].lower()
        document["servers"] = [{"url": base}]
        for item in document.get("paths", {}).values():
            if isinstance(item, dict):
                item.pop("servers", None)
                for operation in item.values():
                    if isinstance(operation, dict):
                        operation.pop("servers", None)
        # The trimmed documents are validated when the catalogue is built (and by
        # test_catalogue_definitions); validating each again here only costs time.
        self.documents[slug] = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
        self.bases[slug] = base
        return base

    def respond(self, request: Request) -> tuple[int, Any]:
        parts = urlsplit(request.target)
        slug = parts.path.split("/")[1]
        document = self.documents.get(slug)
        if document is None:
            return 404, {"errors": [f"no document for {slug}"]}
        cookies = SimpleCookie(request.headers.get("cookie", ""))
        checked = MockRequest(
            self.url,
            request.method.lower(),
            parts.path,
            args=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=request.headers,
            cookies={name: morsel.value for name, morsel in cookies.items()},
            data=request.body or None,
            content_type=request.headers.get("content-type", "application/json").split(";")[0],
        )
        try:
            with warnings.catch_warnings():
                # "deprecated parameter" is for the API's users, not a refusal.
                warnings.simplefilter("ignore", DeprecationWarning)
                result = document.unmarshal_request(checked)
        except Exception as error:  # the test shows why rather than a dropped connection
            return 422, {"errors": [f"the validator failed: {_reason(error)}"]}
        if result.errors:
            return 422, {"errors": [_reason(error) for error in result.errors]}
        return 200, {"ok": True}


def _reason(error: Exception) -> str:
    """The error and what caused it (openapi-core nests the schema's complaints)."""
    text = f"{type(error).__name__}: {error}"
    for nested in getattr(error, "schema_errors", None) or []:
        text += f"; {getattr(nested, 'message', nested)}"
    cause = error.__cause__
    while cause is not None:
        text += f"; {type(cause).__name__}: {cause}"
        for nested in getattr(cause, "schema_errors", None) or []:
            text += f"; {getattr(nested, 'message', nested)}"
        cause = cause.__cause__
    return text
