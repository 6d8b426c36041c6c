"""The client address of a request: the peer, or what WEFT_TRUSTED_PROXIES forwarded."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from weft.api.client_address import ClientAddresses
from weft.settings import Settings

pytestmark = pytest.mark.unit


def request_from(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 5000), "headers": headers})


def addresses(trusted: str) -> ClientAddresses:
    return ClientAddresses(Settings(trusted_proxies=trusted).trusted_proxy_networks)


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert addresses("").of(request_from("10.0.0.9", "203.0.113.7")) == "10.0.0.9"
    assert addresses("10.0.0.1").of(request_from("10.0.0.9", "203.0.113.7")) == "10.0.0.9"


def test_the_right_most_hop_no_trusted_proxy_stands_for_is_the_client() -> None:
    chain = addresses("10.0.0.0/24, 192.168.1.1")
    # Client-written hops sit left of it; several headers are one list, in order.
    request = request_from("10.0.0.1", "6.6.6.6, 203.0.113.7", "192.168.1.1, 10.0.0.2")
    assert chain.of(request) == "203.0.113.7"
    assert chain.of(request_from("10.0.0.1")) == "10.0.0.1"  # no header: the proxy itself
    assert chain.of(request_from("10.0.0.1", "10.0.0.3")) == "10.0.0.3"  # all trusted


def test_a_hop_that_is_no_address_stops_at_the_nearest_trusted_one() -> None:
    chain = addresses("10.0.0.0/24")
    assert chain.of(request_from("10.0.0.1", "203.0.113.7, not-an-ip")) == "10.0.0.1"
    assert chain.of(request_from("10.0.0.1", "unknown, 10.0.0.2")) == "10.0.0.2"


def test_one_address_has_one_spelling_and_ipv6_counts_per_64() -> None:
    chain = addresses("::1")
    assert chain.of(request_from("::1", "::ffff:203.0.113.7")) == "203.0.113.7"
    first = chain.of(request_from("::1", "2001:db8:1:2::1"))
    assert first == chain.of(request_from("::1", "2001:db8:1:2:ffff::9")) == "2001:db8:1:2::/64"
    assert addresses("").of(request_from("10.0.0.9")) == "10.0.0.9"


def test_a_misspelt_trusted_proxy_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="WEFT_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/33")
