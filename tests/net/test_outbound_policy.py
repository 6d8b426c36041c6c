"""The allow list and the address classifier, as pure functions: nothing here touches a network."""

from __future__ import annotations

import ipaddress

import pytest

from weft.net import BlockedDestination, OutboundPolicy, refusal_reason

pytestmark = pytest.mark.unit

REFUSED = {
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "10.0.0.1": "RFC 1918",
    "172.31.255.255": "RFC 1918",
    "192.168.0.1": "RFC 1918",
    "100.64.0.1": "carrier-grade NAT",
    "fd12:3456::1": "unique-local",
    "fec0::1": "site-local",
    "224.0.0.251": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "192.0.2.1": "not a publicly routable",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:169.254.169.254": "link-local",
    "64:ff9b::a00:1": "RFC 1918",  # NAT64 form of 10.0.0.1
    "2002:a9fe:a9fe::1": "6to4 address embedding a link-local",  # 6to4 form of 169.254.169.254
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "reason"), REFUSED.items())
def test_refusal_reason_names_the_address_class(address: str, reason: str) -> None:
    assert reason in (refusal_reason(ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_parse_splits_hosts_and_networks() -> None:
    policy = OutboundPolicy.parse(" 127.0.0.1, 10.0.0.0/8 ,Internal.Example.,[::1],, ")
    assert policy.allow == ("127.0.0.1", "10.0.0.0/8", "Internal.Example.", "[::1]")
    assert policy.allows_host("internal.example")
    assert policy.allows_host("INTERNAL.example.")
    assert not policy.allows_host("sub.internal.example")
    for allowed in ("127.0.0.1", "10.200.0.3", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"):
        assert policy.allows_address(ipaddress.ip_address(allowed)), allowed
    for refused in ("127.0.0.2", "11.0.0.1", "::2"):
        assert not policy.allows_address(ipaddress.ip_address(refused)), refused


def test_parse_of_empty_setting_allows_nothing() -> None:
    for text in ("", None, " , "):
        policy = OutboundPolicy.parse(text)
        assert policy.allow == ()
        assert policy.max_response_bytes == 10 * 1024 * 1024
        assert policy.max_redirects == 5


@pytest.mark.parametrize("text", ["10.0.0.0/33", "300.1.2.3/8", "bad host!", "http://x.example"])
def test_parse_rejects_malformed_entries(text: str) -> None:
    with pytest.raises(ValueError, match="outbound allow list"):
        OutboundPolicy.parse(text)


def test_check_addresses_refuses_if_any_address_is_private(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = OutboundPolicy.parse("127.0.0.1")
    addresses = [ipaddress.ip_address(a) for a in ("127.0.0.1", "93.184.216.34", "10.9.9.9")]
    with pytest.raises(BlockedDestination) as caught:
        policy.check_addresses("mixed.example", addresses)
    assert caught.value.address == "10.9.9.9"
    assert "mixed.example (10.9.9.9)" in caught.value.message
    assert "OUTBOUND_BLOCKED" in caught.value.message and "WEFT_" not in caught.value.message
    # The operator's log names the setting that would open it.
    assert any("WEFT_OUTBOUND_ALLOW" in r.getMessage() for r in caplog.records)
    OutboundPolicy.parse("mixed.example").check_addresses("mixed.example", addresses)


def test_parse_reads_ports_on_hosts_addresses_networks_and_bracketed_ipv6() -> None:
    policy = OutboundPolicy.parse("db.internal:5432,127.0.0.1:8080,10.0.0.0/8:443,[::1]:9000,::2")
    assert policy.allows_host("db.internal", 5432) and not policy.allows_host("db.internal", 80)
    loopback, private, v6, v6_any = (
        ipaddress.ip_address(a) for a in ("127.0.0.1", "10.1.1.1", "::1", "::2")
    )
    assert policy.allows_address(loopback, 8080) and not policy.allows_address(loopback, 8000)
    assert policy.allows_address(private, 443) and not policy.allows_address(private, None)
    assert policy.allows_address(v6, 9000) and not policy.allows_address(v6, 9001)
    assert policy.allows_address(v6_any, 1) and policy.allows_address(v6_any, 65535)


@pytest.mark.parametrize("text", ["127.0.0.1:0", "db:99999", "db:http", "[::1]x"])
def test_parse_rejects_malformed_ports(text: str) -> None:
    with pytest.raises(ValueError, match="outbound allow list"):
        OutboundPolicy.parse(text)
