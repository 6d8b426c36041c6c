"""Answers for FakeApi that page a list the way real APIs do, or misbehave as some do.

Each function returns a callable for `FakeApi.answer(method, path, ...)`: it reads the page it
is asked for from the request and answers that slice of `ITEMS` (five items, two a page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fake_api import Request

ITEMS = [{"id": f"it{n}", "n": n} for n in range(5)]
SIZE = 2
Answer = Callable[[Request], tuple[Any, ...]]


def _slice(start: int) -> tuple[list[dict[str, Any]], int | None]:
    """The page from `start`, and where the next one starts (None: this is the last)."""
    page = ITEMS[start : start + SIZE]
    end = start + len(page)
    return page, end if end < len(ITEMS) else None


def _args(request: Request) -> dict[str, Any]:
    return request.json() or {} if request.method == "POST" else request.query


def next_cursor(items_key: str, cursor: str, path: str) -> Answer:
    """The next page's cursor at dotted `path` of the body (Slack, Notion, HubSpot shapes)."""

    def answer(request: Request) -> tuple[Any, ...]:
        start = int(_args(request).get(cursor) or 0)
        page, following = _slice(start)
        body: dict[str, Any] = {items_key: page}
        *parents, last = path.split(".")
        holder = body
        for step in parents:
            holder = holder.setdefault(step, {})
        holder[last] = str(following) if following is not None else ""
        if path == "next_cursor":  # Notion's shape: has_more beside a null cursor
            body["has_more"] = following is not None
            body["next_cursor"] = body["next_cursor"] or None
        if path == "paging.next.after" and following is None:
            del body["paging"]  # HubSpot leaves paging out on the last page
        return 200, body

    return answer


def after_last_item(request: Request) -> tuple[Any, ...]:
    """Stripe: `starting_after` = the last id seen, `has_more` until the end."""
    after = request.query.get("starting_after")
    start = next((n + 1 for n, item in enumerate(ITEMS) if item["id"] == after), 0)
    page, following = _slice(start)
    return 200, {"object": "list", "data": page, "has_more": following is not None}


def page_numbers(request: Request) -> tuple[Any, ...]:
    """`page` (from 1) and `per_page`; the body is the list itself."""
    size = int(request.query.get("per_page") or SIZE)
    start = (int(request.query.get("page") or 1) - 1) * size
    return 200, ITEMS[start : start + size]


def offsets(request: Request) -> tuple[Any, ...]:
    """`offset` and `count`; the list at `rows`."""
    size = int(request.query.get("count") or SIZE)
    start = int(request.query.get("offset") or 0)
    return 200, {"rows": ITEMS[start : start + size]}


def link_header(base: str, path: str) -> Answer:
    """GitHub: the list as the body, the next page in `Link: <...>; rel="next"`."""

    def answer(request: Request) -> tuple[Any, ...]:
        number = int(request.query.get("page") or 1)
        page, following = _slice((number - 1) * SIZE)
        links = [f'<{base}{path}?page=1>; rel="first"']
        if following is not None:
            links.insert(0, f'<{base}{path}?page={number + 1}&per_page={SIZE}>; rel="next"')
        return 200, page, {"link": ", ".join(links)}

    return answer


def next_records_url(path: str) -> Answer:
    """Salesforce: `nextRecordsUrl` (relative) until `done`."""

    def answer(request: Request) -> tuple[Any, ...]:
        start = int(request.path.rsplit("-", 1)[1]) if "-" in request.path else 0
        page, following = _slice(start)
        body: dict[str, Any] = {"records": page, "done": following is None}
        if following is not None:
            body["nextRecordsUrl"] = f"{path}/01g-{following}"
        return 200, body

    return answer


def busy(times: int, headers: dict[str, str], status: int = 429) -> Answer:
    """`status` with `headers` for the first `times` requests, then one page of items."""
    calls = {"n": 0}

    def answer(request: Request) -> tuple[Any, ...]:
        calls["n"] += 1
        if calls["n"] <= times:
            return status, {"error": "slow down"}, headers
        return 200, {"rows": ITEMS[:SIZE]}

    return answer
