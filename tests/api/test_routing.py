"""Routers that pass over paths none of their routes can match pick the very route FastAPI's
own walk picks, for every documented path and method, for misses and for wrong methods."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Match

from weft.api.routing import Router
from weft.app import create_app
from weft.settings import Settings

pytestmark = pytest.mark.unit

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data = tmp_path_factory.mktemp("routing")
    # No request reaches a handler: the database is never opened.
    return create_app(Settings(database_url=f"sqlite+aiosqlite:///{data}/w.db", data_dir=data))


def first_match(app: FastAPI, path: str, method: str) -> tuple[Any, Match]:
    """The app's first route that matches fully, else the first partial match (405), as
    FastAPI's router chooses."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    partial: tuple[Any, Match] = (None, Match.NONE)
    for index, route in enumerate(app.router.routes):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return index, match
        if match == Match.PARTIAL and partial[0] is None:
            partial = (index, match)
    return partial


def requests_to_try(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented path with its parameters filled, under every method, and misses."""
    paths = [re.sub(r"\{[^}]+\}", "x1", path) for path in app.openapi()["paths"]]
    misses = ["/nope", "/api/v2/public/nope", "/api/v2/public/execution/x1/nope", "/healthz/"]
    return [(path, method) for path in paths + misses for method in METHODS]


def test_skipping_routers_changes_no_match(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    tried = requests_to_try(app)
    pruned = {request: first_match(app, *request) for request in tried}
    monkeypatch.setattr(Router, "_search", lambda self: None)  # FastAPI's own walk
    walked = {request: first_match(app, *request) for request in tried}
    assert pruned == walked
    # The comparison covers full matches, wrong methods (405) and misses (404).
    outcomes = {match for _, match in walked.values()}
    assert outcomes == {Match.FULL, Match.PARTIAL, Match.NONE}


def test_a_router_is_passed_over_only_when_no_route_of_it_can_match() -> None:
    router = Router()
    router.add_api_route("/execution/{id}", lambda id: id, methods=["GET"])
    router.add_api_route("/execution", lambda: [], methods=["GET"])
    assert router._literal_starts() == ("/execution", "/execution/")
    router.add_api_route("/{anything}", lambda anything: anything, methods=["GET"])
    assert router._literal_starts() is None  # a route that may match any path: never skipped
