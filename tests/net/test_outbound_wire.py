"""What goes over the wire and comes back: headers, bodies, cookies, encodings, error messages."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from urllib.parse import quote

import pytest
from outbound_servers import TinyServer

from weft.net import (
    InvalidUrl,
    OutboundClient,
    OutboundConnectionError,
    OutboundError,
    OutboundTimeout,
    ResponseTooLarge,
)

pytestmark = pytest.mark.integration

MakeClient = Callable[..., OutboundClient]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Note": "one\r\nX-Injected: two"},
        {"X-Note": "line\nbreak"},
        {"X-Note": "nul\x00"},
        {"Authorization": "Bearer Ú"},
        {"X Bad": "name with a space"},
        {"X-Split\r\n": "value"},
        {"": "empty name"},
    ],
)
async def test_unsendable_headers_are_a_clean_error_before_connecting(
    headers: dict[str, str], server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    with pytest.raises(OutboundError) as caught:
        await make_client("127.0.0.1").request("GET", server.url("/echo"), headers=headers)
    assert type(caught.value) is OutboundError
    assert not caught.value.retryable
    assert "Bearer" not in caught.value.message  # a header value may be a credential
    assert dials == []
    assert server.requests == []


async def test_paths_and_queries_go_out_as_written(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    # Escaped and plain `:` or `/` need not mean the same to a server (or to a signature).
    written = "/echo/Sheet1%21A1%3AB2/a:b?range=A1%3AB2&to=a%2Fb&t=x:y"
    assert (await client.request("GET", server.url(written))).body["target"] == written
    escaped = await client.request("GET", server.url("/echo/a b/é?q=a b&p=100%"))
    assert escaped.body["target"] == "/echo/a%20b/%C3%A9?q=a%20b&p=100%25"


async def test_bodies_keep_their_content_type(server: TinyServer, make_client: MakeClient) -> None:
    client = make_client("127.0.0.1")
    raw = await client.request("POST", server.url("/echo"), content=b"\x00raw")
    assert raw.body["content_type"] is None and server.requests[-1].body == b"\x00raw"
    as_json = await client.request("POST", server.url("/echo"), json={"é": [1, None]})
    assert as_json.body["content_type"] == "application/json"
    assert as_json.body["body"] == '{"é":[1,null]}'
    chosen = await client.request(
        "POST", server.url("/echo"), json=[1], headers={"Content-Type": "application/x+json"}
    )
    assert chosen.body["content_type"] == "application/x+json"


async def test_the_body_declares_its_own_length(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    for framing in ({"Content-Length": "0"}, {"transfer-encoding": "chunked"}):
        sent = await client.request("POST", server.url("/echo"), content="abc", headers=framing)
        assert sent.body["body"] == "abc"
    assert server.connections == 1  # nothing was left on the pooled connection


async def test_head_is_not_refused_for_the_size_it_declares(
    server: TinyServer, make_client: MakeClient
) -> None:
    response = await make_client("127.0.0.1").request("HEAD", server.url("/sized?n=5000"))
    assert (response.status, response.headers["content-length"], response.body) == (
        200,
        "5000",
        "",
    )


async def test_body_that_is_not_json_is_a_clean_error(
    server: TinyServer, make_client: MakeClient
) -> None:
    with pytest.raises(OutboundError, match="JSON"):
        await make_client("127.0.0.1").request("POST", server.url("/echo"), json={"s": {1, 2}})
    assert server.requests == []


async def test_a_json_body_goes_out_as_the_runs_history_stores_it(
    server: TinyServer, make_client: MakeClient
) -> None:
    # NaN and the infinities as null, a lone surrogate (UTF-8 cannot encode one) and NUL as
    # U+FFFD, integer keys as strings: what a resumed run, reading stored values, would send.
    client = make_client("127.0.0.1")
    value = {"nan": float("nan"), "inf": [float("-inf")], "lone": "a\ud800", 1: "\x00"}
    as_json = await client.request("POST", server.url("/echo"), json=value)
    as_text = await client.request("POST", server.url("/echo"), content="text \udfff")
    stored = {"nan": None, "inf": [None], "lone": "a\ufffd", "1": "\ufffd"}
    assert json.loads(as_json.body["body"]) == stored
    assert as_text.body["body"] == "text \ufffd"


async def test_user_info_in_the_url_becomes_basic_auth(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    url = f"http://user:p%40ss@127.0.0.1:{server.port}/echo"
    sent = await client.request("GET", url, headers={"Authorization": "Bearer other"})
    assert sent.body["authorization"] == "Basic dXNlcjpwQHNz"  # user:p@ss
    assert sent.body["host"] == f"127.0.0.1:{server.port}"


async def test_cookies_never_carry_over_between_requests(
    server: TinyServer, make_client: MakeClient
) -> None:
    # One client serves every workflow of an org (the shared one, every org without its own).
    client = make_client("127.0.0.1")
    answer = await client.request("GET", server.url("/cookie"))
    assert answer.headers["set-cookie"] == "session=abc; Path=/"
    assert answer.headers["x-twice"] == "one, two"
    assert (await client.request("GET", server.url("/echo"))).body["cookie"] is None


async def test_compressed_bodies_are_decoded_and_bombs_refused(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    assert (await client.request("GET", server.url("/gzip?n=1024"))).body == "a" * 1024
    # ~10 KB on the wire, 10 MB decoded: stopped at the 1 KB limit of decoded bytes.
    with pytest.raises(ResponseTooLarge):
        await client.request("GET", server.url(f"/gzip?n={10 * 1024 * 1024}"))


@pytest.mark.parametrize(
    ("text", "encoding", "content_type", "body"),
    [
        ("héllo", "iso-8859-1", "text/plain; charset=ISO-8859-1", "héllo"),
        ("héllo", "utf-8", "text/plain", "héllo"),
        ("héllo", "utf-8", "text/plain; charset=no-such-charset", "héllo"),
        ('{"a": "é"}', "utf-8-sig", "application/json", {"a": "é"}),
        ('{"a": 1}', "utf-8", "application/vnd.api+json; charset=utf-8", {"a": 1}),
    ],
)
async def test_bodies_are_decoded_by_their_declared_charset(
    text: str,
    encoding: str,
    content_type: str,
    body: object,
    server: TinyServer,
    make_client: MakeClient,
) -> None:
    path = f"/encoded?text={quote(text)}&as={encoding}&type={quote(content_type)}"
    assert (await make_client("127.0.0.1").request("GET", server.url(path))).body == body


async def test_messages_name_the_host_never_the_url(
    server: TinyServer, make_client: MakeClient
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = make_client("127.0.0.1")
    secret = "s3cret"
    failures: list[OutboundError] = []
    for url, timeout_s in [
        (f"http://user:{secret}@127.0.0.1:{closed_port}/x?token={secret}", None),
        (server.url(f"/slow?token={secret}").replace("://", f"://u:{secret}@"), 0.2),
    ]:
        with pytest.raises((OutboundConnectionError, OutboundTimeout)) as caught:
            await client.request("GET", url, timeout_s=timeout_s)
        failures.append(caught.value)
    for failure in failures:
        assert "127.0.0.1" in failure.message
        assert secret not in failure.message
        assert secret not in str(failure)


@pytest.mark.parametrize("url", ["http://a b.test/", 'http://exa"mple.test/', "http://[::1/"])
async def test_malformed_hosts_are_invalid_urls(
    url: str, make_client: MakeClient, dials: list[str]
) -> None:
    with pytest.raises(InvalidUrl):
        await make_client().request("GET", url)
    assert dials == []


async def test_an_answers_odd_bytes_and_escapes_read_as_they_are_stored(
    make_client: MakeClient,
) -> None:
    # A header that is not UTF-8 (aiohttp reads its bytes as lone surrogates) and JSON escapes
    # of a lone surrogate and NUL: U+FFFD as the answer is read, as a step's stored output has
    # them, so no later encoding (a request body, an answer of Weft's API) meets them.
    body = b'{"lone": "a\\udc00", "nul": "b\\u0000", "pair": "\\ud83d\\ude00"}'

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = b"HTTP/1.1 200 OK\r\nX-Odd: caf\xe9\xff\r\nContent-Type: application/json\r\n"
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        read = await make_client("127.0.0.1").request("GET", f"http://127.0.0.1:{port}/")
    finally:
        server.close()
        await server.wait_closed()
    assert read.headers["x-odd"] == "caf\ufffd\ufffd"
    assert read.body == {"lone": "a\ufffd", "nul": "b\ufffd", "pair": "\U0001f600"}
