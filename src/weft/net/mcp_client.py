"""Calling a remote MCP server (Streamable HTTP) through the private-network guard.

The official SDK's client (`mcp.client.streamable_http`) speaks HTTP with an `httpx2` client
it accepts from the caller. Ours dials through `GuardedBackend`, httpcore2's network layer with
the guard in front: it resolves the host once, refuses unless the policy passes every address
(`OutboundPolicy.check_addresses`, the check aiohttp's `GuardedConnector` makes for every other
outbound request) and connects to a checked address. TLS, SNI and the Host header keep the host
name. No proxy from the environment is used (it would resolve out of the guard's sight), and
the SDK follows redirects only within the server's origin.

What a server sends is bounded: one SSE event (the SDK's `max_sse_event_size`) and one plain
JSON answer (`_CappedStream`, read as it streams in) at MAX_ANSWER_BYTES each. Compression is
not asked for, and a JSON answer compressed anyway is refused (its size would say nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpcore2
import httpx2
from httpcore2._backends.auto import AutoBackend

from weft.net.connector import Resolver, resolve_host, trust_store
from weft.net.errors import (
    InvalidUrl,
    OutboundConnectionError,
    OutboundError,
    OutboundTimeout,
    ResponseTooLarge,
)
from weft.net.policy import OutboundPolicy, normalize_ip, parse_ip
from weft.store.json_codec import as_stored, parse_json

# Tool lists and answers are small; a server that sends more is refused, not buffered.
MAX_ANSWER_BYTES = 4 * 1024 * 1024

T = TypeVar("T")


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's network backend, dialling only addresses the policy passes."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or resolve_host
        self._inner = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's signature)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """A connection to the first reachable checked address of `host`."""
        literal = parse_ip(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                names = await self._resolver(host, port)
            except OSError as error:
                raise OutboundConnectionError(f"{host} could not be resolved") from error
            addresses = [ip for ip in map(parse_ip, names) if ip is not None]
            if not addresses or len(addresses) != len(names):
                raise OutboundConnectionError(f"{host} did not resolve to IP addresses")
        self._policy.check_addresses(host, addresses, port)  # raises BlockedDestination
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(normalize_ip(ip)),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as error:
                failure = error
        raise OutboundConnectionError(f"{host} could not be reached", retryable=True) from failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's signature)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """Never: a socket on this machine is not an outbound destination."""
        raise OutboundError("Unix sockets are not outbound destinations")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _AnswerRefused(httpx2.StreamError):
    """Raised into the SDK's read of an answer we refuse: it turns a StreamError into a JSON-RPC
    error for the request waiting on it (anything else would leave that request hanging)."""


class _CappedStream(httpx2.AsyncByteStream):
    """A plain answer's body, read chunk by chunk and refused once past MAX_ANSWER_BYTES (or at
    once, when the transport already knows it refuses it)."""

    def __init__(
        self,
        inner: httpx2.AsyncByteStream,
        transport: _GuardedTransport,
        refusal: ResponseTooLarge | None,
    ) -> None:
        self._inner = inner
        self._transport = transport
        self._refusal = refusal

    def _refused(self, error: ResponseTooLarge) -> _AnswerRefused:
        self._transport.refused = self._transport.refused or error
        return _AnswerRefused(error.message)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._refusal is not None:
            raise self._refused(self._refusal)
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > MAX_ANSWER_BYTES:
                raise self._refused(self._transport.too_large())
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _GuardedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, policy: OutboundPolicy, resolver: Resolver | None, host: str) -> None:
        super().__init__(trust_env=False)
        # httpx2's transport takes no network backend: its pool is replaced by one that has ours
        # (tests/net/test_mcp_client.py proves private addresses are refused through it).
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=trust_store(),
            network_backend=GuardedBackend(policy, resolver),
            max_connections=10,
        )
        self._host = host
        # The first answer refused: what the caller reports, not the SDK's parse error.
        self.refused: ResponseTooLarge | None = None

    def too_large(self) -> ResponseTooLarge:
        limit = MAX_ANSWER_BYTES // (1024 * 1024)
        return ResponseTooLarge(f"The MCP server {self._host} sent an answer over {limit} MiB")

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        if response.headers.get("content-type", "").lower().startswith("text/event-stream"):
            return response  # the SDK bounds each event
        refusal = None
        encoding = response.headers.get("content-encoding", "identity").lower()
        declared = response.headers.get("content-length", "")
        if encoding not in ("", "identity"):
            refusal = ResponseTooLarge(
                f"The MCP server {self._host} sent a {encoding}-compressed answer though none "
                "was asked for (its size could not be bounded)"
            )
        elif declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            refusal = self.too_large()
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self, refusal)
        return response


def guarded_http_client(
    transport: _GuardedTransport, *, headers: Mapping[str, str] | None, timeout_s: float
) -> httpx2.AsyncClient:
    """An httpx2 client (for the MCP SDK) whose every connection passes the guard."""
    return httpx2.AsyncClient(
        transport=transport,
        # Uncompressed, so that MAX_ANSWER_BYTES bounds what is held, not what is sent.
        headers={**(headers or {}), "accept-encoding": "identity"},
        timeout=httpx2.Timeout(timeout_s),
        trust_env=False,
        follow_redirects=False,
    )


@dataclass(frozen=True)
class RemoteTool:
    """One tool a remote server lists."""

    name: str
    description: str
    input_schema: dict[str, Any]
    title: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "input_schema": self.input_schema,
        }


@dataclass(frozen=True)
class ToolAnswer:
    """A tool's answer: structured content when the server sent some, else its text."""

    is_error: bool
    output: Any
    text: str


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidUrl("Invalid URL: an MCP server URL starts with http:// or https://")
    if not parts.hostname:
        raise InvalidUrl("Invalid URL: it has no host")
    return url


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    found = [error]
    cause = error.__cause__ or error.__context__
    while cause is not None and len(found) < 10:
        found.append(cause)
        cause = cause.__cause__ or cause.__context__
    return found


def _translated(error: BaseException, host: str, timeout_s: float) -> OutboundError:
    """The outbound failure an SDK error (often inside task groups) stands for."""
    from mcp.shared.exceptions import MCPError

    leaves = _leaves(error)
    for leaf in leaves:
        if isinstance(leaf, OutboundError):
            return leaf
    for leaf in leaves:
        if isinstance(leaf, TimeoutError | httpx2.TimeoutException):
            return OutboundTimeout(f"The MCP server {host} did not answer within {timeout_s:g} s")
        if isinstance(leaf, httpx2.HTTPStatusError):
            status = leaf.response.status_code
            return OutboundError(
                f"The MCP server {host} answered {status}",
                retryable=status == 429 or status >= 500,
            )
        if isinstance(leaf, httpx2.TransportError):
            return OutboundConnectionError(f"The MCP server {host} could not be reached")
        if isinstance(leaf, MCPError):
            return OutboundError(f"The MCP server {host} refused: {leaf}")
    return OutboundError(f"The MCP server {host} failed: {type(error).__name__}: {error}")


@asynccontextmanager
async def _session(
    url: str, transport: _GuardedTransport, headers: Mapping[str, str] | None, timeout_s: float
) -> AsyncIterator[Any]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    http = guarded_http_client(transport, headers=headers, timeout_s=timeout_s)
    async with (
        http,
        streamable_http_client(url, http_client=http, max_sse_event_size=MAX_ANSWER_BYTES) as (
            read,
            write,
        ),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def _with_session(
    url: str,
    use: Callable[[Any], Awaitable[T]],
    *,
    policy: OutboundPolicy,
    headers: Mapping[str, str] | None,
    timeout_s: float,
    resolver: Resolver | None,
) -> T:
    """What `use` makes of a session with the server at `url`; raises OutboundError."""
    host = urlsplit(_checked_url(url)).hostname or ""
    transport = _GuardedTransport(policy, resolver, host)
    try:
        async with asyncio.timeout(timeout_s):
            async with _session(url, transport, headers, timeout_s) as session:
                return await use(session)
    except (Exception, BaseExceptionGroup) as error:
        raise transport.refused or _translated(error, host, timeout_s) from None


async def list_tools(
    url: str,
    *,
    policy: OutboundPolicy,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
    resolver: Resolver | None = None,
) -> list[RemoteTool]:
    """The tools the MCP server at `url` lists; raises OutboundError."""

    async def listing(session: Any) -> Any:
        return await session.list_tools()

    listed = await _with_session(
        url, listing, policy=policy, headers=headers, timeout_s=timeout_s, resolver=resolver
    )
    return [
        RemoteTool(
            name=tool.name,
            title=getattr(tool, "title", None),
            description=tool.description or "",
            input_schema=dict(tool.input_schema or {}),
        )
        for tool in listed.tools
    ]


async def call_tool(
    url: str,
    name: str,
    arguments: dict[str, Any],
    *,
    policy: OutboundPolicy,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
    resolver: Resolver | None = None,
) -> ToolAnswer:
    """Call tool `name` of the MCP server at `url`; raises OutboundError when it cannot."""

    async def calling(session: Any) -> Any:
        return await session.call_tool(name, arguments)

    result = await _with_session(
        url, calling, policy=policy, headers=headers, timeout_s=timeout_s, resolver=resolver
    )
    texts = [item.text for item in result.content or [] if getattr(item, "type", "") == "text"]
    text = "\n".join(texts)
    output: Any = result.structured_content
    if output is None:
        output = _maybe_json(text)
    with contextlib.suppress(TypeError, RecursionError):
        # As the step stores it: NaN and the infinities (the SDK's parser reads them) null.
        output = as_stored(output)
    return ToolAnswer(is_error=bool(result.is_error), output=output, text=text)


def _maybe_json(text: str) -> Any:
    try:
        return parse_json(text)
    except (ValueError, RecursionError):
        return text
