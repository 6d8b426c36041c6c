"""Header fields a workflow writes (an HTTP step's request, a respond step's answer), checked
before they reach the wire: a line break in a value would split the message, and a length or
transfer coding of the workflow's own would break its framing."""

from __future__ import annotations

import re
from typing import Any

# Set by the client or server from the body actually sent; a workflow's own are dropped. One
# that disagreed with the body would leave bytes on a pooled connection, read as the answer to
# someone else's request.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")


def header_problem(name: Any, value: str) -> str | None:
    """Why `name: value` cannot be sent (a message that leaves the value out: it may be a
    credential), or None."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        return f"Header name {str(name)[:60]!r} is not a valid HTTP header name"
    if not _FIELD_VALUE.fullmatch(value):
        return (
            f"The value of header {name!r} cannot be sent: it holds a line break, a control "
            "character or a non-ASCII character"
        )
    return None
