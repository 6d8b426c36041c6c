"""The guarded connection layer: resolve once, check every address, connect to a checked one.

The check lives in an httpcore network backend, the one place that opens TCP connections. When
the connection pool needs a new connection it calls `connect_tcp(host, port)`; we resolve `host`
ourselves, refuse unless every resolved address is allowed, then open the socket to one of those
same addresses. There is no second lookup between check and connect, so DNS rebinding has no
window. Everything above the socket is untouched: the URL, the `Host` header, TLS SNI and
certificate verification all still use the host name, and pooled connections are keyed by it.
A pooled connection is only ever one this backend opened to a checked address.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpcore
import httpx

from weft.net.policy import IPAddress, OutboundPolicy, parse_ip

# (host, port) -> addresses as strings; injectable so tests can play a rebinding DNS server.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

DEFAULT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its preferred order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses the policy allows, resolving names itself."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver or resolve_host
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first reachable checked address of `host`."""
        addresses = await self.checked_addresses(host, port, timeout_s=timeout)
        options = list(socket_options or ())
        last_error: Exception | None = None
        for ip in addresses:
            # An IPv4-mapped address is the IPv4 host; dialling it as IPv4 works without IPv6.
            target = str(ip.ipv4_mapped) if ip.version == 6 and ip.ipv4_mapped else str(ip)
            try:
                return await self._inner.connect_tcp(
                    target,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error or httpcore.ConnectError(f"no address to connect to for {host}")

    async def checked_addresses(
        self, host: str, port: int, *, timeout_s: float | None = None
    ) -> list[IPAddress]:
        """The addresses of `host` after the guard passed all of them; raises BlockedDestination."""
        literal = parse_ip(host)
        if literal is not None:
            # IP literals skip DNS entirely: the check is a few integer comparisons.
            self._policy.check_addresses(host, [literal], port)
            return [literal]
        try:
            async with asyncio.timeout(timeout_s):
                names = await self._resolver(host, port)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        except OSError as error:
            raise httpcore.ConnectError(f"could not resolve {host}: {error}") from error
        addresses = [ip for ip in map(parse_ip, names) if ip is not None]
        if not addresses or len(addresses) != len(names):
            raise httpcore.ConnectError(f"could not resolve {host} to IP addresses")
        self._policy.check_addresses(host, addresses, port)
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are local by nature, so outbound requests never use them."""
        raise httpcore.ConnectError("outbound requests cannot use unix sockets")

    async def sleep(self, seconds: float) -> None:
        """Delegate to the wrapped backend (used by httpcore's connect retries)."""
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool dialling through `GuardedBackend`."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
        resolver: Resolver | None = None,
    ) -> None:
        # trust_env=False: an HTTP(S)_PROXY from the environment would make the proxy, not us,
        # resolve and connect, bypassing the guard.
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        # httpx offers no network_backend argument, so swap in an equivalent pool that has one
        # (httpx is pinned; tests/net prove the swap is in effect).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolver=resolver),
        )
