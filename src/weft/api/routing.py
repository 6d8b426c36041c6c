"""`Router`: FastAPI's `APIRouter`, which says at once when none of its routes can match a path.

FastAPI (0.163) matches a request against an included router by trying each of its routes in
turn, at a few microseconds each, and tries every included router of the app in order, with no
look at the prefix first: a request for one of the last routers (health, metrics, executions)
paid for a regular expression and scope bookkeeping of some 200 routes, twice for a miss (the
trailing-slash retry), ~0.2-0.5 ms of CPU per request on this machine. A route can only match a
path that contains the literal start of its own path (`/execution/` of `/execution/{id}`,
whatever prefix the router is included with), so a router none of whose literal starts occurs
in the path is passed over with a few substring tests. Anything else is left to FastAPI as is
(which route wins, 405 for a known path with another method, redirects, the OpenAPI document).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


class Router(APIRouter):
    """An `APIRouter` that skips its routes for a path none of them can match."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The routes' literal starts (see `_literal_starts`) and, as one search, for how many
        # routes they were found (routes may be added after the router is made).
        self._starts_of: tuple[int, tuple[str, ...] | None, re.Pattern[str] | None] = (
            -1,
            None,
            None,
        )

    def _literal_starts(self) -> tuple[str, ...] | None:
        """Each route's path up to its first parameter; None: some route may match any path."""
        count, starts, _ = self._starts_of
        if count == len(self.routes):
            return starts
        found: list[str] = []
        for route in self.routes:
            path = getattr(route, "path", None)
            start = path.split("{", 1)[0] if isinstance(path, str) else ""
            if start in ("", "/"):  # a router-root route or one without a path: never skip
                found = []
                break
            found.append(start)
        starts = tuple(sorted(set(found))) if found else None
        search = re.compile("|".join(map(re.escape, starts))) if starts else None
        self._starts_of = (len(self.routes), starts, search)
        return starts

    def _search(self) -> re.Pattern[str] | None:
        """One search for any of the literal starts; None: never skip this router."""
        if self._starts_of[0] != len(self.routes):
            self._literal_starts()
        return self._starts_of[2]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        search = self._search()
        if search is not None and search.search(scope.get("path", "")) is None:
            return Match.NONE, {}
        return super().matches(scope)
