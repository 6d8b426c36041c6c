"""Outbound HTTP for nodes: one pooled client behind the private-network guard (DESIGN §6)."""

from weft.net.client import OutboundClient, OutboundResponse
from weft.net.errors import (
    BlockedDestination,
    InvalidUrl,
    OutboundConnectionError,
    OutboundError,
    OutboundTimeout,
    ResponseTooLarge,
    TooManyRedirects,
    is_retryable_status,
)
from weft.net.policy import OutboundPolicy, refusal_reason

__all__ = [
    "BlockedDestination",
    "InvalidUrl",
    "OutboundClient",
    "OutboundConnectionError",
    "OutboundError",
    "OutboundPolicy",
    "OutboundResponse",
    "OutboundTimeout",
    "ResponseTooLarge",
    "TooManyRedirects",
    "is_retryable_status",
    "refusal_reason",
]
