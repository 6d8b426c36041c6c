"""`Router`: FastAPI's `APIRouter`, which says at once when none of its routes can match a path;
`DirectRoute`: a route served without FastAPI's per-request dependency solving.

FastAPI (0.163) matches a request against an included router by trying each of its routes in
turn, at a few microseconds each, and tries every included router of the app in order, with no
look at the prefix first: a request for one of the last routers (health, metrics, executions)
paid for a regular expression and scope bookkeeping of some 200 routes, twice for a miss (the
trailing-slash retry), ~0.2-0.5 ms of CPU per request on this machine. A route can only match a
path that contains the literal start of its own path (`/execution/` of `/execution/{id}`,
whatever prefix the router is included with), so a router none of whose literal starts occurs
in the path is passed over with one regular-expression search. Anything else is left to FastAPI
as is (which route wins, 405 for a known path with another method, redirects, the OpenAPI
document).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope


class Router(APIRouter):
    """An `APIRouter` that skips its routes for a path none of them can match."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The search for the routes' literal starts, and for how many routes it was built
        # (routes may be added after the router is made).
        self._search_built: tuple[int, re.Pattern[str] | None] = (-1, None)

    def _literal_starts(self) -> tuple[str, ...] | None:
        """Each route's path up to its first parameter; None: some route may match any path."""
        found: set[str] = set()
        for route in self.routes:
            path = getattr(route, "path", None)
            start = path.split("{", 1)[0] if isinstance(path, str) else ""
            if start in ("", "/"):  # a router-root route or one without a path: never skip
                return None
            found.add(start)
        return tuple(sorted(found)) or None

    def _search(self) -> re.Pattern[str] | None:
        """One search for any of the literal starts; None: never skip this router."""
        count, search = self._search_built
        if count != len(self.routes):
            starts = self._literal_starts()
            search = re.compile("|".join(map(re.escape, starts))) if starts else None
            self._search_built = (len(self.routes), search)
        return search

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        search = self._search()
        if search is not None and search.search(scope.get("path", "")) is None:
            return Match.NONE, {}
        return super().matches(scope)


class DirectRoute(APIRoute):
    """An `APIRoute` whose endpoint takes the request alone and is called with it as it comes.

    For the hottest route (a webhook's call; ~4 % of a five-step run's CPU): FastAPI otherwise
    solves the endpoint's dependencies per request, reading path, query, headers and cookies
    against its signature. The endpoint reads what it needs from the request itself; an error it
    raises reaches the same handlers (the error envelope) as any route's. Path parameters are
    not in the signature, so the route documents them in `openapi_extra`.
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        return self.endpoint
