"""Pages of a list action: where the items are, how to ask for the next page, when to stop.

Pure of I/O: `walk_pages` is handed `fetch(params, url)`, which sends one page's request (the
gateway's, rate limits and token refresh included). A runaway API stops at the page cap; one
that hands back the same cursor, link or page twice fails with a message saying so.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from weft.apps.call_model import CursorPagination, LinkPagination, PagePagination, Paging
from weft.apps.limits import Answer
from weft.nodes.runtime import NodeFailure

DEFAULT_MAX_ITEMS = 1000
MAX_ITEMS = 10_000
# One `<uri>; params` element of a Link header (RFC 8288); params may be quoted.
_LINK = re.compile(r'<([^<>]*)>((?:\s*;\s*[^;,"=\s]+\s*(?:=\s*(?:"[^"]*"|[^;,"]*))?)*)')
_REL = re.compile(r'(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]*))', re.IGNORECASE)
_MISSING = object()

# (params, url or None for the action's own) -> the answer (status below 400), the URL sent.
Fetch = Callable[[dict[str, Any], str | None], Awaitable[tuple[Answer, str]]]


@dataclass
class Page:
    """One page: its items, the answer it came in, and whether the API has another."""

    items: list[Any]
    answer: Answer
    more: bool


def value_at(body: Any, path: str) -> Any:
    """The value at dotted `path` in `body` (`$`: the body), or `_MISSING`."""
    if path == "$":
        return body
    for step in path.split("."):
        if isinstance(body, list) and step.isdigit() and int(step) < len(body):
            body = body[int(step)]  # `title.0.plain_text`: an item of a list
        elif not isinstance(body, dict) or step not in body:
            return _MISSING
        else:
            body = body[step]
    return body


def items_at(body: Any, path: str, label: str) -> list[Any]:
    """The list at `path`; NodeFailure naming what was there instead."""
    found = value_at(body, path)
    if isinstance(found, list):
        return found
    where = "the response" if path == "$" else f"`{path}`"
    seen = "nothing" if found is _MISSING else f"a {type(found).__name__}"
    raise NodeFailure(f"{label} answered without a list at {where} (found {seen})")


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of a Link header; None without one; ValueError for garbage."""
    if not header or not header.strip():
        return None
    links = _LINK.findall(header)
    if not links:
        raise ValueError("the Link header cannot be read")
    for uri, params in links:
        for quoted, bare in _REL.findall(params):
            if "next" in (quoted or bare).lower().split():
                return uri.strip()
    return None


def _same_origin(first: str, other: str) -> bool:
    a, b = urlsplit(first), urlsplit(other)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _page_size(paging: Paging, params: dict[str, Any]) -> int | None:
    if paging.size_param is None:
        return None
    given = params.get(paging.size_param)
    if given is None and paging.page_size is not None:
        params[paging.size_param] = given = paging.page_size
    try:
        return int(given) if given is not None else None
    except (TypeError, ValueError):
        return None


def _cursor_after(paging: CursorPagination, body: Any, items: list[Any], label: str) -> Any:
    if paging.has_more is not None:
        flag = value_at(body, paging.has_more)
        if flag is _MISSING or not flag:
            return None
    if paging.next is not None:
        cursor = value_at(body, paging.next)
        return None if cursor is _MISSING or cursor in (None, "") else cursor
    if not items:
        return None
    cursor = value_at(items[-1], paging.last_item or "$")
    if cursor is _MISSING or cursor in (None, ""):
        raise NodeFailure(f"{label}: the last item has no `{paging.last_item}` to page after")
    return cursor


async def walk_pages(
    paging: Paging,
    items_path: str,
    params: dict[str, Any],
    fetch: Fetch,
    *,
    label: str,
    max_pages: int | None = None,
) -> AsyncIterator[Page]:
    """Every page of a list action, first to last or to the page cap."""
    params = dict(params)
    cap = min(max_pages or paging.max_pages, paging.max_pages)
    size = _page_size(paging, params)
    position = 0
    if isinstance(paging, PagePagination):
        start = paging.start if paging.start is not None else (0 if paging.offset else 1)
        try:
            position = int(params.get(paging.param, start))
        except (TypeError, ValueError):
            raise NodeFailure(f"{label}: {paging.param} must be a whole number") from None
        params[paging.param] = position
    seen: set[str] = set()
    url: str | None = None
    first_url: str | None = None
    previous: list[Any] | None = None
    for _ in range(cap):
        answer, sent = await fetch(params, url)
        first_url = first_url or sent
        items = items_at(answer.body, items_path, label)
        if isinstance(paging, CursorPagination):
            cursor = _cursor_after(paging, answer.body, items, label)
            more = cursor is not None
            if more:
                if str(cursor) in seen or params.get(paging.param) == cursor:
                    raise NodeFailure(f"{label} gave the same cursor twice: paging stopped")
                seen.add(str(cursor))
                params[paging.param] = cursor
        elif isinstance(paging, PagePagination):
            if items and items == previous:
                raise NodeFailure(f"{label} answered the same page twice: paging stopped")
            previous = items
            more = bool(items) and (size is None or len(items) >= size)
            position += len(items) if paging.offset else 1
            params[paging.param] = position
        else:
            url = _next_url(paging, answer, sent, first_url, seen, label)
            more = url is not None
        yield Page(items, answer, more)
        if not more:
            return


def _next_url(
    paging: LinkPagination,
    answer: Answer,
    sent: str,
    first_url: str,
    seen: set[str],
    label: str,
) -> str | None:
    seen.add(sent)
    if paging.next_url is not None:
        found = value_at(answer.body, paging.next_url)
        if found is _MISSING or found in (None, ""):
            return None
        if not isinstance(found, str):
            raise NodeFailure(f"{label}: `{paging.next_url}` is not a URL")
        link: str | None = found
    else:
        try:
            link = next_link(answer.headers.get("link"))
        except ValueError as error:
            raise NodeFailure(f"{label}: {error}") from None
    if link is None:
        return None
    url = urljoin(sent, link)
    # The connection's credentials go with the next request: never to another origin.
    if not _same_origin(first_url, url):
        raise NodeFailure(f"{label}: the next page's link leaves {urlsplit(first_url).netloc}")
    if url in seen:
        raise NodeFailure(f"{label} gave the same next link twice: paging stopped")
    return url


async def collect(pages: AsyncIterator[Page], max_items: int) -> dict[str, Any]:
    """`{items, pages, more}`: the pages' items up to `max_items`; `more` when some were left."""
    items: list[Any] = []
    count = 0
    more = False
    async with aclosing(pages):
        async for page in pages:
            count += 1
            items.extend(page.items)
            more = page.more
            if len(items) >= max_items:
                more = more or len(items) > max_items
                break
    return {"items": items[:max_items], "pages": count, "more": more}
