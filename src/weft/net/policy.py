"""Which destinations outbound requests may reach: the allow list and the address classifier."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from weft.net.errors import BlockedDestination

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_TIMEOUT_S = 30.0

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_RFC1918 = tuple(
    ipaddress.IPv4Network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
# NAT64 gateways translate these to the embedded IPv4 address, so judge that address instead.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_-]{1,63})*$")


def parse_ip(text: str) -> IPAddress | None:
    """The IP address `text` spells in standard notation, or None when it is a host name."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def normalize_ip(ip: IPAddress) -> IPAddress:
    """The address a packet really reaches: IPv4-mapped and NAT64 IPv6 forms become IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def refusal_reason(ip: IPAddress) -> str | None:
    """Why the guard refuses `ip` (e.g. "a loopback address"), or None for a public address."""
    ip = normalize_ip(ip)
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        # A 6to4 address routes to its embedded IPv4 host through any 6to4 relay.
        embedded = refusal_reason(ip.sixtofour)
        if embedded:
            return f"a 6to4 address embedding {embedded}"
    if ip.is_unspecified:
        return "an unspecified address (it reaches this machine)"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services such as 169.254.169.254 live)"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address):
        if ip in _CGNAT:
            return "a carrier-grade NAT (100.64.0.0/10) address"
        if any(ip in net for net in _RFC1918):
            return "a private (RFC 1918) address"
    else:
        if ip in _UNIQUE_LOCAL:
            return "a unique-local IPv6 address"
        if ip.is_site_local:
            return "a site-local IPv6 address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global:
        return "not a publicly routable address"
    return None


def _normalize_host(host: str) -> str:
    # DNS names are case-insensitive and "example.com." is the same name as "example.com".
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class OutboundPolicy:
    """Where outbound requests may go despite the guard, and the limits every request obeys."""

    allow: tuple[str, ...] = ()
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    timeout_s: float = DEFAULT_TIMEOUT_S
    # (network, port) and (host, port); port None: every port.
    _networks: tuple[tuple[IPNetwork, int | None], ...] = field(
        init=False, repr=False, compare=False
    )
    _hosts: frozenset[tuple[str, int | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        networks: list[tuple[IPNetwork, int | None]] = []
        hosts: set[tuple[str, int | None]] = set()
        for entry in self.allow:
            target, port = _split_port(entry)
            text = _normalize_host(target)
            if not text:
                continue
            if "/" in text or parse_ip(text) is not None:
                try:
                    network = ipaddress.ip_network(text, strict=False)
                except ValueError as error:
                    raise ValueError(f"invalid CIDR in outbound allow list: {entry!r}") from error
                networks.append((network, port))
            elif _HOSTNAME.match(text):
                hosts.add((text, port))
            else:
                raise ValueError(f"invalid host in outbound allow list: {entry!r}")
        if self.max_response_bytes <= 0 or self.max_redirects < 0 or self.timeout_s <= 0:
            raise ValueError("outbound limits must be positive")
        # Frozen dataclass: derived lookup tables are set once, here.
        object.__setattr__(self, "_networks", tuple(networks))
        object.__setattr__(self, "_hosts", frozenset(hosts))

    @classmethod
    def parse(
        cls,
        text: str | None,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> OutboundPolicy:
        """A policy from a comma-separated allow list such as `127.0.0.1,10.0.0.0/8,db.internal`."""
        entries = tuple(part.strip() for part in (text or "").split(",") if part.strip())
        return cls(
            allow=entries,
            max_response_bytes=max_response_bytes,
            max_redirects=max_redirects,
            timeout_s=timeout_s,
        )

    def covers(self, entry: str) -> bool:
        """Whether every destination the allow-list `entry` opens is one this policy opens too:
        a host name listed here (for that port or every port), or a network inside one listed
        here whose port matches (an entry without a port needs a listed network without one)."""
        target, port = _split_port(entry)
        text = _normalize_host(target)
        if "/" in text or parse_ip(text) is not None:
            network = ipaddress.ip_network(text, strict=False)
            return any(
                network.version == allowed.version
                and network.subnet_of(allowed)  # type: ignore[arg-type]
                and (allowed_port is None or allowed_port == port)
                for allowed, allowed_port in self._networks
            )
        return (text, None) in self._hosts or (port is not None and (text, port) in self._hosts)

    def allows_host(self, host: str, port: int | None = None) -> bool:
        """Whether the host name itself is on the allow list (exact match, case-insensitive),
        for every port or for `port`."""
        name = _normalize_host(host)
        return (name, None) in self._hosts or (port is not None and (name, port) in self._hosts)

    def allows_address(self, ip: IPAddress, port: int | None = None) -> bool:
        """Whether the address (or the IPv4 address it maps to) is inside an allowed network,
        for every port or for `port`."""
        candidates = {ip, normalize_ip(ip)}
        return any(
            candidate.version == network.version
            and candidate in network
            and (allowed_port is None or allowed_port == port)
            for candidate in candidates
            for network, allowed_port in self._networks
        )

    def check_addresses(
        self, host: str, addresses: Iterable[IPAddress], port: int | None = None
    ) -> None:
        """Raise BlockedDestination unless every address `host` resolved to may be reached
        (on `port`: an allow-list entry with a port allows that port only)."""
        if self.allows_host(host, port):
            return
        for ip in addresses:
            if self.allows_address(ip, port):
                continue
            reason = refusal_reason(ip)
            if reason is not None:
                raise BlockedDestination(host, str(ip), reason)


def normalize_allow_entry(entry: str) -> str:
    """One allow-list entry in canonical form (`10.0.0.0/8:443`, `[::1]:8080`, `db.internal`);
    raises ValueError when it is not a host name, address or CIDR with an optional port."""
    target, port = _split_port(entry)
    text = _normalize_host(target)
    if "/" in text or parse_ip(text) is not None:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError as error:
            raise ValueError(f"{entry!r} is not a valid address or CIDR") from error
        whole = network.prefixlen == network.max_prefixlen
        text = str(network.network_address) if whole else str(network)
        if port is not None and network.version == 6:
            return f"[{text}]:{port}"
    elif not _HOSTNAME.match(text):
        raise ValueError(f"{entry!r} is not a host name, address or CIDR")
    return text if port is None else f"{text}:{port}"


def _split_port(entry: str) -> tuple[str, int | None]:
    """`host:port`, `1.2.3.4:port`, `10.0.0.0/8:port` or `[::1]:port` into host and port;
    entries without a port (bare IPv6 addresses included) allow every port."""
    text = entry.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError(f"invalid entry in outbound allow list: {entry!r}")
        return host, _port(rest[1:], entry)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port, entry)
    return text, None


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"invalid port in outbound allow list: {entry!r}")
    return int(text)
