"""Which address a request comes from, for the failed-sign-in limit.

The TCP peer, unless that peer is one of WEFT_TRUSTED_PROXIES: then X-Forwarded-For is read
from the right, skipping the trusted proxies' own hops, and the first hop no trusted proxy
stands for is the client. Hops further left were written by whoever sent the request, so they
are never believed: a caller cannot pick its own bucket (or a victim's) by sending the header.
`weft serve` turns uvicorn's own reading of the header off (it trusts loopback by default).
"""

from __future__ import annotations

import ipaddress

from starlette.requests import HTTPConnection

from weft.net.policy import IPNetwork, normalize_ip, parse_ip

UNKNOWN = "unknown"


class ClientAddresses:
    """Resolves the client address of requests, trusting the headers of `trusted` peers only."""

    def __init__(self, trusted: tuple[IPNetwork, ...]) -> None:
        self.trusted = trusted

    def of(self, connection: HTTPConnection) -> str:
        """The client address of `connection` (the peer, or what trusted proxies forwarded)."""
        peer = connection.client.host if connection.client else None
        if peer is None:
            return UNKNOWN
        if not self.trusted or not self._is_trusted(peer):
            return _canonical(peer)
        hops = [
            hop.strip()
            for value in connection.headers.getlist("x-forwarded-for")
            for hop in value.split(",")
        ]
        nearest = peer
        for hop in reversed(hops):
            if parse_ip(hop) is None:
                break  # not an address a proxy wrote: the nearest trusted hop stands for it
            if not self._is_trusted(hop):
                return _canonical(hop)
            nearest = hop
        return _canonical(nearest)

    def _is_trusted(self, address: str) -> bool:
        ip = parse_ip(address)
        if ip is None:
            return False
        ip = normalize_ip(ip)
        return any(ip.version == net.version and ip in net for net in self.trusted)


def _canonical(address: str) -> str:
    # One spelling per address (`::FFFF:10.0.0.1` is 10.0.0.1), so no spelling is a fresh bucket.
    ip = parse_ip(address)
    if ip is None:
        return address[:64]
    ip = normalize_ip(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        # One host usually holds a whole /64: counting each address apart would let it mint
        # buckets freely.
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
