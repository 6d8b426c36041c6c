"""Credentials out of what is stored and shown: the one redaction every record goes through.

Run records (step inputs, safe mode's would-send requests, errors, webhook payloads) are kept
for days and returned by the API; a credential that a workflow sends or receives must be usable
at run time and absent from them. Safe mode (`engine/interpreter/safe_mode.py`), the runner's
record of a failed step, the requests http and app steps record (`nodes/http.py`,
`apps/calls.py`) and inbound webhook payloads (`api/hooks.py`) all redact here, with one word
list, so a key hidden in one is hidden in all.

Names are matched loosely on purpose: a false positive hides one value from history, a false
negative leaks a secret.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Too short to look for inside other names ("monkey", "design"): only as the whole name.
_EXACT = frozenset({"key", "sig"})
# Anywhere in a name: "x-api-key", "set-cookie", "client_secret", "passwd", "oauth_signature".
_CREDENTIAL_WORDS = re.compile(
    r"auth|bearer|cookie|credential|passw|private|secret|session|signature|token"
    r"|api[-_]?key|access[-_]?key",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=2048)  # the same few header and field names on every call
def is_credential_name(name: str) -> bool:
    """Whether a header, query parameter or field called `name` probably carries a credential."""
    lowered = name.strip().lower()
    return lowered in _EXACT or bool(_CREDENTIAL_WORDS.search(lowered))


def redact_value(value: Any) -> Any:
    """`value` with the values of credential-like keys replaced, at any depth."""
    # Exact types, not Mapping: JSON is dicts and lists, and an ABC check per leaf costs.
    kind = type(value)
    if kind is dict:
        return redact_mapping(value)
    if kind is list:
        return [redact_value(item) for item in value]
    return value


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with every credential-like entry's value replaced by a marker, at any depth.

    An empty value stays as it is: it hides nothing, and shows that the entry was sent empty.
    """
    return {
        key: (REDACTED if value not in (None, "") else value)
        if is_credential_name(str(key))
        else redact_value(value)
        for key, value in values.items()
    }


def redact_url(url: str) -> str:
    """`url` without its user info (a name may be a key too) and with credential-like query
    values hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_credential_name(name) for name, _ in pairs):
            query = urlencode(
                [(n, REDACTED if is_credential_name(n) else v) for n, v in pairs], safe="[]"
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """An outbound request as recorded: url, headers, query and body with credentials hidden."""
    recorded = dict(request)
    if isinstance(recorded.get("url"), str):
        recorded["url"] = redact_url(recorded["url"])
    for field in ("headers", "query"):
        if isinstance(recorded.get(field), Mapping):  # a client's header mapping, too
            recorded[field] = redact_mapping(recorded[field])
    if "body" in recorded:
        recorded["body"] = redact_value(recorded["body"])
    return recorded


def redact_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A node's fields as they resolved (what a failed step records, what safe mode shows it
    would send): a `url` redacted as a URL, every other field at any depth."""
    return {
        name: redact_url(value) if name == "url" and isinstance(value, str) else redact_value(value)
        for name, value in fields.items()
    }
