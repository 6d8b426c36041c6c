"""Typed outbound failures: each carries a user-facing message and whether a retry may help."""

from __future__ import annotations

import logging

from weft.errors import WeftError

ALLOW_SETTING = "WEFT_OUTBOUND_ALLOW"
log = logging.getLogger(__name__)


class OutboundError(WeftError):
    """An outbound request failed; `retryable` says whether trying again may succeed."""

    status_code = 502
    error_code = "OUTBOUND_ERROR"
    retryable = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class BlockedDestination(OutboundError):
    """The guard refused the destination: a loopback, link-local, private or reserved address."""

    status_code = 400
    error_code = "OUTBOUND_BLOCKED"

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        target = host if host == address else f"{host} ({address})"
        # The message reaches end customers (a step's error in the editor): it names no
        # operator setting; the log line the operator reads does.
        super().__init__(
            f"Outbound request to {target} refused: {address} is {reason}. "
            f"To reach it, ask your administrator to allow this address "
            f"(code {self.error_code})."
        )
        log.warning(
            "outbound request to %s refused (%s is %s); the operator allows it with %s, "
            "or the organization with its outbound policy",
            target,
            address,
            reason,
            ALLOW_SETTING,
        )


class OutboundTimeout(OutboundError):
    """The destination did not answer within the time limit."""

    status_code = 504
    error_code = "OUTBOUND_TIMEOUT"
    retryable = True


class OutboundConnectionError(OutboundError):
    """The destination could not be reached or dropped the connection."""

    error_code = "OUTBOUND_UNREACHABLE"
    retryable = True


class ResponseTooLarge(OutboundError):
    """The response body exceeded the configured size limit."""

    error_code = "OUTBOUND_RESPONSE_TOO_LARGE"


class InvalidUrl(OutboundError):
    """The URL is malformed or uses a scheme other than http and https."""

    status_code = 400
    error_code = "INVALID_URL"


class TooManyRedirects(OutboundError):
    """The destination redirected more often than the policy allows."""

    error_code = "OUTBOUND_TOO_MANY_REDIRECTS"


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth retrying: 429 and every 5xx."""
    return status == 429 or 500 <= status <= 599
