"""Sticky notes and pinned outputs are saved with the draft; notes never run (issue #22 point 9)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.flows import BASE, create_draft, run
from graphs import MANUAL_START, node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

SHAPE = node("2", "transform", "Shape", value={"n": 1})
NOTE = {"id": "note-1", "text": "Ask Ops before changing this", "position": {"x": 40, "y": -80}}


async def save(client: httpx.AsyncClient, tenant: Tenant, wf: str, **body: Any) -> httpx.Response:
    graph = {"nodes": [MANUAL_START, SHAPE], "edges": [{"source": "1", "target": "2"}], **body}
    return await client.put(f"{BASE}/workflow/{wf}/draft", json=graph, headers=tenant.bearer)


async def opened(client: httpx.AsyncClient, tenant: Tenant, wf: str) -> dict[str, Any]:
    answer = await client.get(f"{BASE}/workflow/{wf}/edit", headers=tenant.bearer)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_notes_and_pins_survive_reopening_and_saves_that_leave_them_out(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wf = await create_draft(client, tenant, [MANUAL_START, SHAPE])
    assert (await opened(client, tenant, wf))["notes"] == []
    saved = await save(client, tenant, wf, notes=[NOTE], pinned={"2": {"n": 99}})
    assert saved.status_code == 200, saved.text
    draft = await opened(client, tenant, wf)  # another device opening the draft
    assert draft["notes"] == [{**NOTE, "width": 220, "height": 140, "color": "yellow"}]
    assert draft["pinned"] == {"2": {"n": 99}}
    assert draft["problems"] == []  # a note is no step: nothing to connect or configure
    # An older client saving only nodes and edges keeps both.
    assert (await save(client, tenant, wf)).status_code == 200
    kept = await opened(client, tenant, wf)
    assert kept["notes"] == draft["notes"] and kept["pinned"] == {"2": {"n": 99}}
    # A step deleted takes its pin with it; an empty list clears the notes.
    alone = await client.put(
        f"{BASE}/workflow/{wf}/draft",
        json={"nodes": [MANUAL_START], "edges": [], "notes": []},
        headers=tenant.bearer,
    )
    assert alone.json()["pinned"] == {} and alone.json()["notes"] == []


async def test_published_version_keeps_the_notes_not_the_pins_and_runs_without_them(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await create_draft(client, tenant, [MANUAL_START, SHAPE])
    assert (await save(client, tenant, wf, notes=[NOTE], pinned={"2": 5})).status_code == 200
    published = await client.put(
        f"{BASE}/workflow/{wf}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert published.status_code == 200, published.text
    version = await client.get(f"{BASE}/workflow/{wf}/versions/1", headers=tenant.bearer)
    assert [n["id"] for n in version.json()["notes"]] == ["note-1"]
    done = await run(client, tenant, wf)
    assert done["status"] == "COMPLETED" and done["output"] == {"n": 1}  # pin not used live
    assert [s["node_id"] for s in done["nodes"]] == ["1", "2"]
    fresh = await opened(client, tenant, wf)  # the next draft starts from the live version
    assert [n["id"] for n in fresh["notes"]] == ["note-1"] and fresh["pinned"] == {}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"notes": [{**NOTE, "color": "plaid"}]}, "INVALID_INPUT"),
        ({"notes": [{**NOTE, "script": "x"}]}, "INVALID_INPUT"),
        ({"notes": [{**NOTE, "text": "x" * 5001}]}, "INVALID_INPUT"),
        ({"notes": [{**NOTE, "position": {"x": "left", "y": 0}}]}, "INVALID_INPUT"),
        ({"notes": [NOTE, NOTE]}, "INVALID_NOTES"),
        ({"pinned": {"2": "x" * 600_000}}, "PINNED_TOO_LARGE"),
        ({"pinned": ["not", "an", "object"]}, "INVALID_INPUT"),
    ],
)
async def test_hostile_notes_and_pins_are_refused_with_a_clear_code(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], code: str
) -> None:
    wf = await create_draft(client, tenant, [MANUAL_START, SHAPE])
    assert_envelope(await save(client, tenant, wf, **body), 400, code)


async def test_an_edge_cannot_reach_a_note(client: httpx.AsyncClient, tenant: Tenant) -> None:
    wf = await create_draft(client, tenant, [MANUAL_START, SHAPE])
    answer = await client.put(
        f"{BASE}/workflow/{wf}/draft",
        json={
            "nodes": [MANUAL_START, SHAPE],
            "edges": [{"source": "1", "target": "note-1"}],
            "notes": [NOTE],
        },
        headers=tenant.bearer,
    )
    assert_envelope(answer, 400, "INVALID_GRAPH")
