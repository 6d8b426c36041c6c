"""Positions for nodes saved without one, so every editor can draw every saved graph."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Protocol

# React Flow's usual top-to-bottom spacing: a row per step, a column per sibling.
ROW_GAP = 150.0
COLUMN_GAP = 250.0


class _Positioned(Protocol):
    id: str
    position: object | None


class _Edge(Protocol):
    source: str
    target: str


def layered_positions(
    nodes: Sequence[_Positioned], edges: Sequence[_Edge]
) -> dict[str, tuple[float, float]]:
    """(x, y) for each node without a position: row = shortest distance from a root node."""
    missing = [node.id for node in nodes if node.position is None]
    if not missing:
        return {}
    targets = {edge.target for edge in edges}
    children: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        children[edge.source].append(edge.target)
    depth: dict[str, int] = {}
    queue = deque(node.id for node in nodes if node.id not in targets)
    for root in queue:
        depth[root] = 0
    while queue:
        current = queue.popleft()
        for child in children[current]:
            if child not in depth:
                depth[child] = depth[current] + 1
                queue.append(child)
    # Nodes only reachable through a cycle go below everything else.
    bottom = max(depth.values(), default=-1) + 1
    placed: dict[str, tuple[float, float]] = {}
    taken: dict[int, int] = defaultdict(int)
    for node in nodes:
        row = depth.get(node.id, bottom)
        column = taken[row]
        taken[row] += 1
        if node.position is None:
            placed[node.id] = (column * COLUMN_GAP, row * ROW_GAP)
    return placed
