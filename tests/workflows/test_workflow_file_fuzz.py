"""Hostile workflow files never make the import answer a 5xx: any JSON in any field of a valid
file, and bodies that are not a file at all, get 200 or Refold's 400/422 envelope."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odd_strings import odd_json
from support import Tenant, assert_envelope

pytestmark = pytest.mark.integration

IMPORT = "/api/v2/public/workflow/import"
VALID = {
    "format_version": 1,
    "name": "Fuzzed",
    "app": "custom",
    "key": "fuzzed",
    "nodes": [
        {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
        {"id": "2", "type": "transform", "name": "T", "data": {"value": "{{ trigger }}"}},
    ],
    "edges": [{"source": "1", "target": "2", "sourceHandle": None}],
    "settings": {},
}
# Where a hostile value goes: each path names a place in VALID (or a new key there).
PLACES: list[tuple[Any, ...]] = [
    (),
    ("name",),
    ("app",),
    ("key",),
    ("format_version",),
    ("settings",),
    ("settings", "data_slots"),
    ("nodes",),
    ("nodes", 1),
    ("nodes", 1, "type"),
    ("nodes", 1, "data"),
    ("nodes", 1, "data", "value"),
    ("nodes", 0, "data"),
    ("nodes", 1, "position"),
    ("edges",),
    ("edges", 0),
    ("edges", 0, "source"),
    ("edges", 0, "sourceHandle"),
]


def placed(changes: list[tuple[tuple[Any, ...], Any]]) -> Any:
    """VALID with each hostile value put at its place."""
    document: Any = copy.deepcopy(VALID)
    for place, value in changes:
        if not place:
            document = value
            continue
        target = document
        for step in place[:-1]:
            try:
                target = target[step]
            except (KeyError, IndexError, TypeError):
                target = None
                break
        if isinstance(target, dict) or (
            isinstance(target, list) and isinstance(place[-1], int) and place[-1] < len(target)
        ):
            target[place[-1]] = value
    return document


# Deep enough to pass the JSON parser, deep enough to break any recursive walk over `data`.
DEEP: Any = "{{ trigger }}"
for _ in range(900):
    DEEP = {"value": DEEP}
DEEP_NODE = {"id": "2", "type": "transform", "name": "T", "data": {"value": DEEP}}

hostile_files = st.lists(st.tuples(st.sampled_from(PLACES), odd_json()), min_size=1, max_size=3)


async def test_any_hostile_file_gets_an_answer_never_a_server_error(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    loop = asyncio.get_running_loop()

    async def one(document: Any, headers: dict[str, str]) -> None:
        # json.dumps escapes lone surrogates (\ud800), as a hostile client would send them.
        text = json.dumps(document)
        sent = {**headers, "content-type": "application/json"}
        answer = await client.post(IMPORT, content=text, headers=sent)
        assert answer.status_code in (200, 400, 422), answer.text
        if answer.status_code != 200:
            assert_envelope(answer, answer.status_code)

    @settings(max_examples=40, deadline=None, database=None)
    @given(hostile_files, st.booleans())
    def imports(changes: list[tuple[tuple[Any, ...], Any]], public: bool) -> None:
        headers = tenant.org_key if public else tenant.bearer
        asyncio.run_coroutine_threadsafe(one(placed(changes), headers), loop).result()

    # Hypothesis drives its examples from a thread; each runs on the test's own loop.
    await asyncio.to_thread(imports)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"format_version": 1e999999, "name": "x"}',
        b'{"nodes": [' + b'{"id": "1"},' * 10_000 + b"{}]}",
        b'"\\ud800"',
        json.dumps({**VALID, "nodes": [VALID["nodes"][0], DEEP_NODE]}).encode(),
    ],
    ids=[
        "empty",
        "not-json",
        "deep-list",
        "deep-object",
        "huge-number",
        "many-nodes",
        "surrogate",
        "deep-data",
    ],
)
async def test_bodies_that_are_no_file_get_a_clear_error(
    client: httpx.AsyncClient, tenant: Tenant, body: bytes
) -> None:
    answer = await client.post(
        IMPORT, content=body, headers={**tenant.bearer, "content-type": "application/json"}
    )
    assert answer.status_code in (200, 400, 413, 422), answer.text
    if answer.status_code != 200:
        assert_envelope(answer, answer.status_code)
