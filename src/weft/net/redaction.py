"""Credentials out of what is stored and shown: headers, URL user info, query parameters.

Run records (step inputs, errors, webhook payloads) are kept for days and returned by the API;
a credential that a workflow sends or receives must be usable at run time and absent from them.
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

_EXACT = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "key",
        "sig",
        "client_secret",
        "client-secret",
        "private_key",
    }
)
_CREDENTIAL_WORDS = re.compile(
    r"token|secret|passw|api[-_]?key|access[-_]?key|auth|session|credential|bearer", re.IGNORECASE
)


@functools.lru_cache(maxsize=2048)  # the same few header names on every call
def is_credential_name(name: str) -> bool:
    """Whether a header or query parameter called `name` probably carries a credential."""
    lowered = name.strip().lower()
    return lowered in _EXACT or bool(_CREDENTIAL_WORDS.search(lowered))


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with every credential-like entry's value replaced by a marker."""
    return {
        key: REDACTED if is_credential_name(str(key)) and value not in (None, "") else value
        for key, value in values.items()
    }


def redact_url(url: str) -> str:
    """`url` without a password in its user info and with credential-like query values hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{hostport}" if user else f"{REDACTED}@{hostport}"
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
    """An outbound request as recorded: url, headers and query with credentials hidden."""
    recorded = dict(request)
    if isinstance(recorded.get("url"), str):
        recorded["url"] = redact_url(recorded["url"])
    for field in ("headers", "query"):
        if isinstance(recorded.get(field), Mapping):
            recorded[field] = redact_mapping(recorded[field])
    return recorded
