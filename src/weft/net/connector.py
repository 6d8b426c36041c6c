"""The guarded connection layer: resolve once, check every address, connect to a checked one.

aiohttp's `TCPConnector` opens every outbound connection, and asks its resolver for the
addresses of a host name first. Ours (`GuardedResolver`) resolves with the injectable
`Resolver`, refuses unless the policy passes every address, and returns only those addresses,
which the connector then dials. There is no second lookup between check and connect, so DNS
rebinding has no window, and the connector's DNS cache only ever holds checked answers (a
refusal is raised, never cached). aiohttp never asks the resolver about IP literals, so
`GuardedConnector` checks those itself. Everything above the socket keeps the host name: the
URL, the `Host` header, TLS SNI and certificate verification, and the pool key (so a pooled
connection is only ever one dialled to a checked address).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import certifi
from aiohttp import TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import is_ip_address

from weft.net.policy import IPAddress, OutboundPolicy, parse_ip

if TYPE_CHECKING:
    from aiohttp.tracing import Trace

# (host, port) -> addresses as strings; injectable so tests can play a rebinding DNS server.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

MAX_CONNECTIONS = 200
# Idle pooled connections close after this; shorter than the 5 s many servers (Node.js) allow,
# so a request rarely meets a connection the server is closing.
KEEPALIVE_S = 4.0
# Checked answers are reused for new connections this long (the check holds for them).
DNS_CACHE_S = 10


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its preferred order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _dialled(host: str, ip: IPAddress, port: int) -> ResolveResult:
    # An IPv4-mapped address is the IPv4 host; dialling it as IPv4 works without IPv6.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return {
        "hostname": host,
        "host": str(ip),
        "port": port,
        "family": socket.AF_INET if ip.version == 4 else socket.AF_INET6,
        "proto": 0,
        "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
    }


class GuardedResolver(AbstractResolver):
    """Resolves a host name and returns its addresses only if the policy allows every one."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or resolve_host

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        """The checked addresses of `host`; raises BlockedDestination (an OSError when the
        name does not resolve, which aiohttp reports as a DNS failure)."""
        names = await self._resolver(host, port)
        addresses = [ip for ip in map(parse_ip, names) if ip is not None]
        if not addresses or len(addresses) != len(names):
            raise OSError(f"{host} did not resolve to IP addresses")
        self._policy.check_addresses(host, addresses, port)
        return [_dialled(host, ip, port) for ip in addresses]

    async def close(self) -> None:
        """Nothing to release: lookups run on the event loop's resolver."""


@functools.cache  # loading the CAs takes milliseconds; one context serves every connection
def trust_store() -> ssl.SSLContext:
    """Verification against the system's CAs (where operators add their own) and certifi's
    bundle, so HTTPS works on images that ship no CA certificates."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    return context


class GuardedConnector(TCPConnector):
    """aiohttp's TCP connector whose every dial goes to an address the guard passed."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        verify: ssl.SSLContext | bool = True,
        resolver: Resolver | None = None,
    ) -> None:
        self._policy = policy
        self._guard = GuardedResolver(policy, resolver)
        super().__init__(
            resolver=self._guard,
            ssl=trust_store() if verify is True else verify,
            limit=MAX_CONNECTIONS,
            keepalive_timeout=KEEPALIVE_S,
            ttl_dns_cache=DNS_CACHE_S,
        )

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        # aiohttp (pinned) calls this for every new connection; tests/net prove the override
        # is in effect (IP literals refused, mapped addresses dialled as IPv4).
        literal = parse_ip(host)
        if literal is not None:
            # IP literals skip DNS entirely: the check is a few integer comparisons.
            self._policy.check_addresses(host, [literal], port)
            return [_dialled(host, literal, port)]
        if is_ip_address(host):
            # A legacy numeric spelling (2130706433, 127.1) that aiohttp would refuse as such:
            # the system resolver maps it onto an address, judged like any other.
            return await self._guard.resolve(host, port)
        return await super()._resolve_host(host, port, traces)
