"""The outbound client against real servers on 127.0.0.1; blocked hosts are never dialled."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

import pytest
from outbound_servers import TinyServer, rebinding_resolver

from weft.net import (
    BlockedDestination,
    InvalidUrl,
    OutboundClient,
    OutboundConnectionError,
    OutboundTimeout,
    ResponseTooLarge,
    TooManyRedirects,
    is_retryable_status,
)

pytestmark = pytest.mark.integration

MakeClient = Callable[..., OutboundClient]

BLOCKED_URLS = [
    "http://127.0.0.1:{port}/json",
    "http://localhost:{port}/json",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[::1]:{port}/json",
    "http://0.0.0.0:{port}/json",
    "http://[::]:{port}/json",
    "http://[::ffff:127.0.0.1]:{port}/json",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    # Shorthand IPv4 spellings are host names to httpx but the resolver turns them into 127.0.0.1;
    # they are caught because the resolved address is what gets checked.
    "http://2130706433:{port}/json",
    "http://127.1:{port}/json",
]


@pytest.mark.parametrize("template", BLOCKED_URLS)
async def test_private_destinations_are_refused_before_connecting(
    template: str, server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    url = template.format(port=server.port)
    with pytest.raises(BlockedDestination) as caught:
        await make_client().request("GET", url)
    assert not caught.value.retryable
    # End customers read this message: it asks for the administrator, never names a setting.
    assert "ask your administrator" in caught.value.message
    assert "WEFT_" not in caught.value.message
    assert caught.value.host in caught.value.message
    assert caught.value.reason in caught.value.message
    assert dials == []
    assert server.requests == []


async def test_allowed_loopback_reaches_the_server(
    server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    response = await make_client("127.0.0.1").request("GET", server.url("/json"))
    assert response.status == 200
    assert response.body == {"ok": True, "items": [1, 2]}
    assert response.headers["content-type"] == "application/json"
    assert dials == ["127.0.0.1"]


async def test_allowed_cidr_covers_the_ipv4_mapped_form(
    server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    client = make_client("127.0.0.0/8")
    response = await client.request("GET", server.url("/json", host="[::ffff:127.0.0.1]"))
    assert response.status == 200
    assert dials == ["127.0.0.1"]  # dialled as the IPv4 address it maps to


async def test_host_allowed_by_name_skips_the_address_check(
    server: TinyServer, make_client: MakeClient
) -> None:
    response = await make_client("LocalHost").request("GET", server.url("/echo", host="localhost"))
    assert response.body["host"] == f"localhost:{server.port}"


async def test_every_resolved_address_is_checked(
    server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1", "10.0.0.7"]

    client = make_client("127.0.0.1", resolver=resolver)
    with pytest.raises(BlockedDestination) as caught:
        await client.request("GET", server.url("/json", host="mixed.test"))
    assert caught.value.address == "10.0.0.7"
    assert dials == []


async def test_connection_goes_to_the_checked_address_without_a_second_lookup(
    server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    calls: list[str] = []
    rebinding = rebinding_resolver(calls)
    client = make_client("127.0.0.1", resolver=rebinding)
    for _ in range(3):
        response = await client.request("GET", server.url("/echo?a=1", host="rebind.test"))
        assert response.body["host"] == f"rebind.test:{server.port}"
    # One lookup, one checked dial, one pooled connection reused by all three requests.
    assert calls == ["rebind.test"]
    assert dials == ["127.0.0.1"]
    assert server.connections == 1

    fresh = make_client("127.0.0.1", resolver=rebinding)
    with pytest.raises(BlockedDestination) as caught:
        await fresh.request("GET", server.url("/echo", host="rebind.test"))
    assert caught.value.address == "127.0.0.2"
    assert dials == ["127.0.0.1"]


async def test_unresolvable_host_is_a_connection_error(make_client: MakeClient) -> None:
    async def nxdomain(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(OutboundConnectionError) as caught:
        await make_client(resolver=nxdomain).request("GET", "http://nowhere.test/")
    assert "nowhere.test" in caught.value.message


async def test_redirect_to_a_blocked_host_is_refused(
    server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    for target in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1:8080/admin"):
        url = server.url(f"/redirect?to={target}")
        with pytest.raises(BlockedDestination):
            await make_client("127.0.0.1").request("GET", url)
    assert set(dials) == {"127.0.0.1"}


async def test_redirects_are_followed_with_browser_method_rules(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    response = await client.request("GET", server.url("/redirect?to=/json"))
    assert response.body == {"ok": True, "items": [1, 2]}

    see_other = server.url("/redirect?status=303&to=/echo")
    response = await client.request("POST", see_other, json={"a": 1})
    assert response.body["method"] == "GET"
    assert response.body["body"] == ""
    assert response.body["content_type"] is None

    temporary = server.url("/redirect?status=307&to=/echo")
    response = await client.request("POST", temporary, json={"a": 1})
    assert response.body["method"] == "POST"
    assert response.body["body"] == '{"a":1}'


async def test_cross_origin_redirect_drops_credentials(
    server: TinyServer, other_server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    headers = {"Authorization": "Bearer secret"}
    same = await client.request("GET", server.url("/redirect?to=/echo"), headers=headers)
    assert same.body["authorization"] == "Bearer secret"
    elsewhere = server.url(f"/redirect?to={other_server.url('/echo')}")
    response = await client.request("GET", elsewhere, headers=headers)
    assert response.body["host"] == f"127.0.0.1:{other_server.port}"
    assert response.body["authorization"] is None


async def test_redirects_beyond_the_limit_are_refused(
    server: TinyServer, make_client: MakeClient
) -> None:
    with pytest.raises(TooManyRedirects) as caught:
        await make_client("127.0.0.1", max_redirects=3).request("GET", server.url("/loop"))
    assert not caught.value.retryable
    assert len(server.requests) == 4


async def test_json_text_and_fallback_bodies(server: TinyServer, make_client: MakeClient) -> None:
    client = make_client("127.0.0.1")
    problem = await client.request("GET", server.url("/problem"))
    assert (problem.status, problem.body) == (404, {"title": "gone"})
    assert (await client.request("GET", server.url("/text"))).body == "héllo"
    assert (await client.request("GET", server.url("/badjson"))).body == "not json {"
    echoed = await client.request("GET", server.url("/echo?a=1"), params={"b": "2"})
    assert echoed.body["target"] == "/echo?a=1&b=2"
    sent = await client.request("PUT", server.url("/echo"), content="raw text")
    assert (sent.body["method"], sent.body["body"]) == ("PUT", "raw text")


async def test_slow_server_maps_to_outbound_timeout(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    with pytest.raises(OutboundTimeout) as caught:
        await client.request("GET", server.url("/slow"), timeout_s=0.2)
    assert caught.value.retryable


async def test_dripping_server_is_stopped_by_the_total_deadline(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1", max_response_bytes=10_000)
    with pytest.raises(OutboundTimeout):
        await client.request("GET", server.url("/drip"), timeout_s=0.5)


async def test_refused_connection_maps_to_connection_error(make_client: MakeClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OutboundConnectionError) as caught:
        await make_client("127.0.0.1").request("GET", f"http://127.0.0.1:{port}/")
    assert caught.value.retryable


@pytest.mark.parametrize("path", ["/sized?n=1025", "/chunked?chunks=3"])
async def test_oversized_responses_are_refused(
    path: str, server: TinyServer, make_client: MakeClient
) -> None:
    with pytest.raises(ResponseTooLarge) as caught:
        await make_client("127.0.0.1").request("GET", server.url(path))
    assert not caught.value.retryable


async def test_response_at_the_limit_is_accepted(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    assert (await client.request("GET", server.url("/sized?n=1024"))).body == "x" * 1024
    assert len((await client.request("GET", server.url("/chunked?chunks=2"))).body) == 1024


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/file", "file:///etc/passwd", "not a url", "http://", "http://[::1/"],
)
async def test_invalid_urls_are_refused(
    url: str, make_client: MakeClient, dials: list[str]
) -> None:
    with pytest.raises(InvalidUrl) as caught:
        await make_client("127.0.0.1").request("GET", url)
    assert not caught.value.retryable
    assert dials == []


async def test_redirect_to_another_scheme_is_refused(
    server: TinyServer, make_client: MakeClient
) -> None:
    url = server.url("/redirect?to=file:///etc/passwd")
    with pytest.raises(InvalidUrl):
        await make_client("127.0.0.1").request("GET", url)


async def test_status_errors_are_returned_not_raised(
    server: TinyServer, make_client: MakeClient
) -> None:
    response = await make_client("127.0.0.1").request("GET", server.url("/status/503"))
    assert response.status == 503
    assert is_retryable_status(response.status)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(200, False), (301, False), (404, False), (429, True), (500, True), (503, True), (599, True)],
)
def test_is_retryable_status(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


async def test_proxy_environment_is_ignored(
    server: TinyServer,
    other_server: TinyServer,
    make_client: MakeClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A proxy would resolve and connect on our behalf, out of the guard's sight.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, other_server.url(""))
    response = await make_client("127.0.0.1").request("GET", server.url("/json"))
    assert response.status == 200
    assert other_server.requests == []


async def test_allow_list_entry_with_a_port_opens_that_port_only(
    server: TinyServer, other_server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    # Allowing `localhost` used to reach every local port, Weft's own API included.
    client = make_client(f"127.0.0.1:{server.port},localhost:{server.port}")
    assert (await client.request("GET", server.url("/json"))).status == 200
    assert (await client.request("GET", server.url("/json", host="localhost"))).status == 200
    for host in ("127.0.0.1", "localhost"):
        with pytest.raises(BlockedDestination):
            await client.request("GET", other_server.url("/json", host=host))
    assert dials == ["127.0.0.1", "127.0.0.1"]
