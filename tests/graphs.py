"""Workflow graphs in the API's shapes, for every test that builds one."""

from __future__ import annotations

import itertools
from typing import Any


def node(node_id: str, node_type: str, name: str, **data: Any) -> dict[str, Any]:
    """A node as the API takes it (`data` None when no fields are given)."""
    return {"id": node_id, "type": node_type, "name": name, "data": data or None}


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    """An edge from `source` (through branch `handle`, if any) to `target`."""
    return {"source": source, "target": target, "sourceHandle": handle}


def chain(*nodes: dict[str, Any]) -> list[dict[str, Any]]:
    """Edges linking `nodes` one after another."""
    return [edge(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]


MANUAL_START = node("1", "start", "Start", trigger="manual")
