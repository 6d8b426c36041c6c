"""The outbound HTTP client nodes use: guarded, size-limited, following redirects hop by hop."""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from weft.net.connector import GuardedConnector, Resolver
from weft.net.errors import (
    InvalidUrl,
    OutboundConnectionError,
    OutboundError,
    OutboundTimeout,
    ResponseTooLarge,
    TooManyRedirects,
)
from weft.net.failures import translate_errors
from weft.net.headers import FRAMING_HEADERS, header_problem
from weft.net.policy import OutboundPolicy
from weft.store.json_codec import (
    as_stored,
    dump_json,
    parse_json,
    reads_differently_stored,
    valid_json,
)

SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Credentials meant for one origin must not follow a redirect to another.
CROSS_ORIGIN_DROPPED = ("authorization", "proxy-authorization", "cookie", "host")
BODY_HEADERS = ("content-type", "content-length", "transfer-encoding")
USER_AGENT = "Weft"
# Response header lines up to this size (aiohttp's default, 8 KiB, refuses some real APIs'
# long Link or Content-Security-Policy headers).
MAX_HEADER_LINE = 64 * 1024
_HOST = re.compile(r"[A-Za-z0-9._~:%-]+")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Characters a path or query may hold unescaped (RFC 3986); anything else gets escaped.
_PATH_SAFE = "/:@!$&'()*+,;=%"
_QUERY_SAFE = _PATH_SAFE + "?[]"


@dataclass
class OutboundResponse:
    """A finished response: JSON bodies parsed, anything else as text."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class _Hop:
    method: str
    url: URL
    headers: CIMultiDict[str]
    body: bytes | None


class OutboundClient:
    """One pooled aiohttp session whose every connection passes the private-network guard."""

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        verify: ssl.SSLContext | bool = True,
        resolver: Resolver | None = None,
    ) -> None:
        self.policy = policy or OutboundPolicy()
        self._verify = verify
        self._resolver = resolver
        # Made on first use: aiohttp binds a session to the running event loop, and clients
        # are built before one runs (create_app, build_services).
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def __aenter__(self) -> OutboundClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections; requests after this fail."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _session_now(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is not None and self._loop is loop:
            return self._session
        if self._closed:
            raise OutboundConnectionError("The outbound client is closed")
        # A session (first use, or one left behind by an event loop that has since ended).
        self._session = aiohttp.ClientSession(
            connector=GuardedConnector(self.policy, verify=self._verify, resolver=self._resolver),
            # No proxies from the environment: a proxy would resolve and connect for us, out of
            # the guard's sight.
            trust_env=False,
            # One client serves many workflows (and orgs): no cookie may carry over.
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": USER_AGENT},
            # A raw body goes out without a guessed content type, as the caller sent it.
            skip_auto_headers=("Content-Type",),
            max_line_size=MAX_HEADER_LINE,
            max_field_size=MAX_HEADER_LINE,
        )
        self._loop = loop
        return self._session

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
        hop = _first_hop(method, url, headers, params, json, content)
        try:
            # The session's timeouts bound each phase; this bounds the whole exchange, so a
            # server that drips a byte just inside every read timeout cannot hold a worker.
            async with asyncio.timeout(timeout):
                return await self._exchange(hop, timeout)
        except TimeoutError as error:
            raise OutboundTimeout(f"{hop.url.host} did not answer within {timeout:g} s") from error

    async def _exchange(self, hop: _Hop, timeout_s: float) -> OutboundResponse:
        session = self._session_now()
        phases = aiohttp.ClientTimeout(total=None, connect=timeout_s, sock_read=timeout_s)
        redirects = 0
        while True:
            _check_url(hop.url)
            url, headers = _on_the_wire(hop)
            with translate_errors(hop.url.host):
                response = await session.request(
                    hop.method,
                    url,
                    headers=headers,
                    data=hop.body,
                    allow_redirects=False,  # each hop is checked here
                    timeout=phases,
                )
                data = b""
                try:
                    location = response.headers.get("location")
                    redirected = response.status in REDIRECT_STATUSES and bool(location)
                    if not redirected:
                        data = await self._read_limited(response, hop)
                except BaseException:
                    response.close()  # never back into the pool half read
                    raise
                response.release()
            if not redirected:
                return OutboundResponse(
                    status=response.status,
                    headers=_header_dict(response),
                    body=_decode_body(response, data),
                )
            if redirects >= self.policy.max_redirects:
                raise TooManyRedirects(
                    f"{hop.url.host} redirected more than {self.policy.max_redirects} times"
                )
            redirects += 1
            hop = _next_hop(hop, response.status, location or "")

    async def _read_limited(self, response: aiohttp.ClientResponse, hop: _Hop) -> bytes:
        limit, url = self.policy.max_response_bytes, hop.url
        declared = response.headers.get("content-length", "")
        # Without content-encoding the declared length is the body size: refuse before reading
        # (a HEAD answer declares the size of a body it does not send).
        if (
            declared.isdigit()
            and int(declared) > limit
            and "content-encoding" not in response.headers
            and hop.method != "HEAD"
        ):
            raise _too_large(url, limit)
        data = bytearray()
        # aiohttp hands over decoded bytes (and inflates a bounded amount at a time), so the
        # limit also stops decompression bombs.
        while chunk := await response.content.readany():
            data += chunk
            if len(data) > limit:
                raise _too_large(url, limit)
        return bytes(data)


def _too_large(url: URL, limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"Response from {url.host} is larger than the {limit}-byte limit")


def _first_hop(
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    params: Mapping[str, Any] | None,
    json: Any,
    content: bytes | str | None,
) -> _Hop:
    try:
        parsed = _parse_url(url)
        if params:
            parsed = parsed.update_query(_query_pairs(params))
    except (ValueError, TypeError) as error:
        # The URL itself stays out of messages: its query or userinfo may hold credentials.
        detail = str(error)
        if not detail or url in detail:
            detail = "it cannot be parsed"
        raise InvalidUrl(f"Invalid URL: {detail}") from error
    checked = _checked_headers(headers)
    body: bytes | None = None
    # Sent as the run's history shows it (store.json_codec): a lone surrogate, which an outside
    # answer's JSON may hold and UTF-8 cannot encode, and NUL as U+FFFD, NaN and the infinities
    # as null. A resumed run, reading the stored values, sends the same.
    if content is not None:
        body = valid_json(content).encode() if isinstance(content, str) else bytes(content)
    elif json is not None:
        try:
            body = dump_json(json).encode()
        except (TypeError, ValueError) as error:
            raise OutboundError(f"The request body cannot be sent as JSON: {error}") from error
        checked.setdefault("content-type", "application/json")
    return _Hop(method.upper(), parsed, checked, body)


def _parse_url(text: str) -> URL:
    """`text` as a URL whose path and query go out as written, escapes included.

    yarl would decode escapes of characters it deems safe (`%3A` to `:`), but a server need not
    agree they are the same (a signature over the path does not); only what may not appear
    unescaped (spaces, non-ASCII, a lone `%`) is escaped. The host is yarl's, normalized.
    """
    parsed = URL(text)
    if "%" not in text:
        return parsed  # nothing yarl would decode
    raw = URL(text, encoded=True)
    path = quote(_LONE_PERCENT.sub("%25", raw.raw_path), safe=_PATH_SAFE)
    query = quote(_LONE_PERCENT.sub("%25", raw.raw_query_string), safe=_QUERY_SAFE)
    if not parsed.absolute:
        return URL.build(path=path, query_string=query, encoded=True)
    return URL.build(
        scheme=parsed.scheme,
        authority=parsed.raw_authority,
        path=path,
        query_string=query,
        encoded=True,
    )


def _query_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(name), _query_text(item)) for item in values)
    return pairs


def _query_text(value: Any) -> str:
    # As httpx spelled them: JSON-like booleans, None as an empty value.
    if value is True or value is False:
        return "true" if value else "false"
    return "" if value is None else str(value)


def _checked_headers(headers: Mapping[str, Any] | None) -> CIMultiDict[str]:
    """The caller's headers, refusing what would break or split the request on the wire."""
    checked: CIMultiDict[str] = CIMultiDict()
    for name, value in (headers or {}).items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if problem := header_problem(name, text):
            raise OutboundError(problem)
        if name.lower() not in FRAMING_HEADERS:
            checked.add(name, text)
    return checked


def _check_url(url: URL) -> None:
    # Messages leave the URL out: its query or userinfo may hold credentials that end up in logs.
    if url.scheme not in SCHEMES:
        shown = f"{url.scheme!r} is" if url.scheme else "a URL without a scheme is"
        raise InvalidUrl(f"Invalid URL: {shown} not supported, use http:// or https://")
    if not url.raw_host:
        raise InvalidUrl("Invalid URL: it has no host")
    if not _HOST.fullmatch(url.raw_host):
        raise InvalidUrl("Invalid URL: the host name holds characters a host name cannot")


def _on_the_wire(hop: _Hop) -> tuple[URL, CIMultiDict[str]]:
    """The URL and headers sent: user info in the URL becomes basic auth (as httpx did)."""
    if hop.url.raw_user is None and hop.url.raw_password is None:
        return hop.url, hop.headers
    pair = f"{hop.url.user or ''}:{hop.url.password or ''}".encode()
    headers = hop.headers.copy()
    headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
    return hop.url.with_user(None), headers


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return url.scheme, url.host, url.port  # yarl gives the scheme's default port


def _next_hop(hop: _Hop, status: int, location: str) -> _Hop:
    """The request a redirect asks for, with the browser rules for method and body."""
    try:
        url = hop.url.join(_parse_url(location))
    except (ValueError, TypeError) as error:
        raise InvalidUrl(f"{hop.url.host} redirected to an invalid URL") from error
    method = hop.method
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = hop.headers.copy()
    if _origin(url) != _origin(hop.url):
        for name in CROSS_ORIGIN_DROPPED:
            headers.popall(name, None)
    keep_body = method == hop.method
    if not keep_body:
        for name in BODY_HEADERS:
            headers.popall(name, None)
    return _Hop(method, url, headers, hop.body if keep_body else None)


def _header_dict(response: aiohttp.ClientResponse) -> dict[str, str]:
    # Lower-case names, repeated headers joined with ", " (the shape nodes have always seen).
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    # aiohttp reads bytes that are not UTF-8 as lone surrogates: U+FFFD, as they are stored
    # (valid_json hands clean headers back as they are).
    return valid_json(headers)


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ("application/json", "text/json") or media_type.endswith("+json")


def _decode_body(response: aiohttp.ClientResponse, data: bytes) -> Any:
    # utf-8-sig: same as utf-8 but drops a byte-order mark, which json.loads would reject.
    encoding = response.charset or "utf-8-sig"
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:  # an unknown charset name in the content-type
        text = data.decode("utf-8-sig", errors="replace")
    if _is_json(response.headers.get("content-type", "")):
        try:
            value = parse_json(text)  # json.loads' values at orjson's speed
            if reads_differently_stored(text):
                # NaN and the infinities (not JSON, but Python's json reads them) null, a lone
                # surrogate or NUL escape U+FFFD, from here on, as the step's stored output has
                # them: a code step, a request body, an answer of Weft's own API (UTF-8 cannot
                # encode a lone surrogate: it was a 500) and a resumed run all see the same.
                value = as_stored(value)
        except (ValueError, RecursionError):
            pass  # a server that says JSON but sends something else: hand over the text
        else:
            return value
    return text
