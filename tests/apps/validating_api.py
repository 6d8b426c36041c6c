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

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest
from werkzeug.datastructures import ImmutableMultiDict

from servers import RecordingServer, Request

# Formats openapi-core checks; any other (Discord's `snowflake`, Twilio's `phone-number`) is an
# annotation, as JSON Schema says, and a real API decides what it accepts.
CHECKED_FORMATS = {
    "date", "date-time", "email", "uuid", "uri", "ipv4", "ipv6", "hostname", "byte", "binary",
    "int32", "int64", "float", "double", "password",
}  # fmt: skip


def _as_the_spec_reads(node: Any) -> None:
    """Unknown formats dropped; a readOnly property required only in responses (OAS 3.0 4.8.25)."""
    if isinstance(node, dict):
        if isinstance(node.get("format"), str) and node["format"] not in CHECKED_FORMATS:
            del node["format"]
        properties = node.get("properties")
        if isinstance(properties, dict) and isinstance(node.get("required"), list):
            node["required"] = [
                name
                for name in node["required"]
                if not (isinstance(properties.get(name), dict) and properties[name].get("readOnly"))
            ]
            if not node["required"]:
                del node["required"]
        for value in node.values():
            _as_the_spec_reads(value)
    elif isinstance(node, list):
        for value in node:
            _as_the_spec_reads(value)


class ValidatingApi(RecordingServer):
    """Validates every request under `/<slug>/...` against that app's document."""

    def __init__(self) -> None:
        self.documents: dict[str, OpenAPI] = {}
        super().__init__()

    def serve(self, slug: str, document: dict[str, Any], base_path: str) -> str:
        """Check `/<slug>` requests against `document`; the base URL to call it with."""
        base = f"{self.url}/{slug}{base_path.rstrip('/')}"
        document = copy.deepcopy(document)
        _as_the_spec_reads(document)
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
        self.documents[slug] = OpenAPI.from_dict(document)
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
