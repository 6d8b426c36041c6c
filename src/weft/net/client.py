"""The outbound HTTP client nodes use: guarded, size-limited, following redirects hop by hop."""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from weft.net.errors import (
    InvalidUrl,
    OutboundConnectionError,
    OutboundError,
    OutboundTimeout,
    ResponseTooLarge,
    TooManyRedirects,
)
from weft.net.policy import OutboundPolicy
from weft.net.transport import DEFAULT_LIMITS, GuardedTransport, Resolver

SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Credentials meant for one origin must not follow a redirect to another.
CROSS_ORIGIN_DROPPED = ("authorization", "proxy-authorization", "cookie", "host")
BODY_HEADERS = ("content-type", "content-length", "transfer-encoding")
USER_AGENT = "Weft"


@dataclass
class OutboundResponse:
    """A finished response: JSON bodies parsed, anything else as text."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class _Hop:
    method: str
    url: httpx.URL
    headers: httpx.Headers
    json: Any
    content: bytes | str | None


class OutboundClient:
    """One pooled httpx client whose every connection passes the private-network guard."""

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
        resolver: Resolver | None = None,
    ) -> None:
        self.policy = policy or OutboundPolicy()
        transport = GuardedTransport(self.policy, verify=verify, limits=limits, resolver=resolver)
        # follow_redirects=False: each hop is checked by us; trust_env=False: no env proxies.
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=self.policy.timeout_s,
            headers={"user-agent": USER_AGENT},
        )

    async def __aenter__(self) -> OutboundClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        timeout_s: float | None = None,
    ) -> OutboundResponse:
        """Send one request, following up to `max_redirects` checked redirects."""
        timeout = self.policy.timeout_s if timeout_s is None else timeout_s
        with _translate_errors(url):
            first_url = httpx.URL(url)
            if params:
                first_url = first_url.copy_merge_params(params)
        hop = _Hop(method.upper(), first_url, httpx.Headers(headers), json, content)
        try:
            # httpx timeouts bound each phase; this bounds the whole exchange, so a server that
            # drips a byte just inside every read timeout cannot hold a worker forever.
            async with asyncio.timeout(timeout):
                return await self._exchange(hop, timeout)
        except TimeoutError as error:
            raise OutboundTimeout(f"{hop.url.host} did not answer within {timeout:g} s") from error

    async def _exchange(self, hop: _Hop, timeout_s: float) -> OutboundResponse:
        redirects = 0
        while True:
            _check_url(hop.url)
            with _translate_errors(str(hop.url)):
                request = self._client.build_request(
                    hop.method,
                    hop.url,
                    headers=hop.headers,
                    json=hop.json,
                    content=hop.content,
                    timeout=timeout_s,
                )
                response = await self._client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_STATUSES and location:
                        if redirects >= self.policy.max_redirects:
                            raise TooManyRedirects(
                                f"{hop.url.host} redirected more than "
                                f"{self.policy.max_redirects} times"
                            )
                        redirects += 1
                        hop = _next_hop(hop, response.status_code, location)
                        continue
                    data = await self._read_limited(response)
                finally:
                    await response.aclose()
            return OutboundResponse(
                status=response.status_code,
                headers=dict(response.headers.items()),
                body=_decode_body(response, data),
            )

    async def _read_limited(self, response: httpx.Response) -> bytes:
        limit = self.policy.max_response_bytes
        declared = response.headers.get("content-length", "")
        # Without content-encoding the declared length is the body size: refuse before reading.
        if (
            declared.isdigit()
            and int(declared) > limit
            and "content-encoding" not in response.headers
        ):
            raise _too_large(response, limit)
        data = bytearray()
        # aiter_bytes yields decoded bytes, so the limit also stops decompression bombs.
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > limit:
                raise _too_large(response, limit)
        return bytes(data)


def _too_large(response: httpx.Response, limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"Response from {response.request.url.host} is larger than the {limit}-byte limit"
    )


def _check_url(url: httpx.URL) -> None:
    # Messages leave the URL out: its query or userinfo may hold credentials that end up in logs.
    if url.scheme not in SCHEMES:
        shown = f"{url.scheme!r} is" if url.scheme else "a URL without a scheme is"
        raise InvalidUrl(f"Invalid URL: {shown} not supported, use http:// or https://")
    if not url.host:
        raise InvalidUrl("Invalid URL: it has no host")


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    default_port = 443 if url.scheme == "https" else 80
    return url.scheme, url.host, url.port or default_port


def _next_hop(hop: _Hop, status: int, location: str) -> _Hop:
    """The request a redirect asks for, with the browser rules for method and body."""
    with _translate_errors(location):
        url = hop.url.join(location)
    method = hop.method
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(hop.headers)
    if _origin(url) != _origin(hop.url):
        for name in CROSS_ORIGIN_DROPPED:
            headers.pop(name, None)
    keep_body = method == hop.method
    if not keep_body:
        for name in BODY_HEADERS:
            headers.pop(name, None)
    return _Hop(
        method,
        url,
        headers,
        hop.json if keep_body else None,
        hop.content if keep_body else None,
    )


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ("application/json", "text/json") or media_type.endswith("+json")


def _decode_body(response: httpx.Response, data: bytes) -> Any:
    # utf-8-sig: same as utf-8 but drops a byte-order mark, which json.loads would reject.
    encoding = response.charset_encoding or "utf-8-sig"
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:  # an unknown charset name in the content-type
        text = data.decode("utf-8-sig", errors="replace")
    if _is_json(response.headers.get("content-type", "")):
        try:
            return jsonlib.loads(text)
        except (ValueError, RecursionError):
            pass  # a server that says JSON but sends something else: hand over the text
    return text


@contextmanager
def _translate_errors(url: str) -> Iterator[None]:
    """Turn httpx exceptions into OutboundError subclasses with a message naming the host."""
    try:
        yield
    except OutboundError:
        raise
    except httpx.InvalidURL as error:
        raise InvalidUrl(f"Invalid URL: {error}") from error
    except httpx.UnsupportedProtocol as error:
        raise InvalidUrl("Invalid URL: use http:// or https://") from error
    except httpx.TimeoutException as error:
        raise OutboundTimeout(f"Request to {_host(url)} timed out ({_describe(error)})") from error
    except httpx.ConnectError as error:
        if _caused_by(error, ssl.SSLCertVerificationError):
            # A certificate that fails verification now will fail the same way on retry.
            raise OutboundConnectionError(
                f"TLS certificate of {_host(url)} could not be verified: {_describe(error)}",
                retryable=False,
            ) from error
        raise OutboundConnectionError(
            f"Could not reach {_host(url)}: {_describe(error)}"
        ) from error
    except (httpx.NetworkError, httpx.RemoteProtocolError) as error:
        raise OutboundConnectionError(
            f"Could not reach {_host(url)}: {_describe(error)}"
        ) from error
    except httpx.HTTPError as error:
        # Local protocol errors (bad header values), undecodable content: retrying won't help.
        raise OutboundError(f"Request to {_host(url)} failed: {_describe(error)}") from error


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except httpx.InvalidURL:
        return url


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    cause: BaseException | None = error
    for _ in range(10):  # bounded: exception chains can, rarely, form a cycle
        if cause is None:
            return False
        if isinstance(cause, kind):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
