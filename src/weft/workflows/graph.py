"""The workflow graph: Refold-shaped nodes and edges, their normalisation, publish validation."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from weft.expressions import ExpressionSyntaxError, referenced_nodes
from weft.nodes import NODE_TYPES, NodeConfigError, describe_errors, parse_node_config
from weft.nodes.base import ERROR_HANDLE
from weft.nodes.loop import BODY_HANDLE

START_TYPE = "start"
LOOP_TYPE = "loop"


class Position(BaseModel):
    """Where the editor draws a node."""

    model_config = ConfigDict(extra="allow")

    x: float
    y: float


class NodeIn(BaseModel):
    """A node as Refold (React Flow) shapes it; unknown fields are kept as sent."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    name: str
    position: Position | None = None
    data: dict[str, Any] | None = None
    incoming_nodes: list[str] | None = None
    outgoing_nodes: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and not value.get("name"):
            node_type, node_id = value.get("type"), value.get("id")
            title = str(node_type or "node").replace("_", " ").capitalize()
            # Refold names the lone start node "Start"; others get their id to stay unique.
            name = title if node_type == START_TYPE else f"{title} {node_id}"
            return {**value, "name": name}
        return value


class EdgeIn(BaseModel):
    """An edge as React Flow shapes it; a branching node names its branch in `sourceHandle`."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    sourceHandle: str | None = None
    targetHandle: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        value = dict(value)
        if value.get("sourceHandle") == "":  # React Flow sends "" for a node's default handle
            value["sourceHandle"] = None
        if not value.get("id"):
            handle = value.get("sourceHandle")
            value["id"] = f"e{value.get('source')}-{value.get('target')}" + (
                f"-{handle}" if handle else ""
            )
        return value


class Graph(BaseModel):
    """A workflow's nodes and edges. Edges are the truth; node in/out lists are derived."""

    nodes: list[NodeIn]
    edges: list[EdgeIn]

    def node(self, node_id: str) -> NodeIn | None:
        """The node with this id, if any."""
        return next((node for node in self.nodes if node.id == node_id), None)

    def nodes_json(self) -> list[dict[str, Any]]:
        """Nodes as JSON for storage and responses."""
        return [node.model_dump(mode="json") for node in self.nodes]

    def edges_json(self) -> list[dict[str, Any]]:
        """Edges as JSON for storage and responses."""
        return [edge.model_dump(mode="json") for edge in self.edges]


@dataclass(frozen=True)
class GraphProblem:
    """One thing wrong with a graph, tied to a node (and field) when it concerns one."""

    node_id: str | None
    field: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, str | None]:
        """The problem as JSON, as the API returns it under `errors`."""
        return asdict(self)


class GraphShapeError(ValueError):
    """A graph too malformed to save as a draft (bad ids, unknown types, dangling edges)."""

    def __init__(self, problems: list[GraphProblem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


def slugify_name(name: str) -> str:
    """The name expressions use for a node: lower case, other characters runs folded to `_`."""
    return re.sub(r"[\W_]+", "_", name.lower()).strip("_")


def _validated(
    model: type[BaseModel], raw: Any, label: str, problems: list[GraphProblem], code: str
) -> Any:
    node_id = raw.get("id") if isinstance(raw, Mapping) else None
    node_id = node_id if isinstance(node_id, str) and code == "INVALID_NODE" else None
    if not isinstance(raw, Mapping):
        problems.append(GraphProblem(None, None, code, f"{label} is not an object"))
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        for field, message in describe_errors(error.errors()):
            problems.append(GraphProblem(node_id, field, code, f"{label}: {field}: {message}"))
        return None


def _derived_edges(nodes: list[NodeIn]) -> list[dict[str, Any]]:
    pairs: dict[tuple[str, str], None] = {}
    for node in nodes:
        for target in node.outgoing_nodes or []:
            pairs[(node.id, target)] = None
        for source in node.incoming_nodes or []:
            pairs[(source, node.id)] = None
    return [{"source": source, "target": target} for source, target in pairs]


def normalize_graph(nodes: list[Any], edges: list[Any] | None) -> Graph:
    """Check a graph's shape and derive edges (if not sent) and every node's in/out lists."""
    problems: list[GraphProblem] = []
    parsed: list[NodeIn] = []
    for index, raw in enumerate(nodes if isinstance(nodes, list) else []):
        node = _validated(NodeIn, raw, f"Node #{index + 1}", problems, "INVALID_NODE")
        if node is None:
            continue
        if node.type not in NODE_TYPES:
            detail = f"unknown node type {node.type!r}"
            problems.append(GraphProblem(node.id, "type", "UNKNOWN_NODE_TYPE", _say(node, detail)))
        if any(other.id == node.id for other in parsed):
            detail = "another node has the same id"
            problems.append(GraphProblem(node.id, "id", "DUPLICATE_NODE_ID", _say(node, detail)))
        parsed.append(node)
    if not isinstance(nodes, list):
        problems.append(GraphProblem(None, "nodes", "INVALID_NODES", "nodes must be a list"))
    raw_edges = _derived_edges(parsed) if edges is None else edges
    ids = {node.id for node in parsed}
    seen_edges: set[str] = set()
    graph_edges: list[EdgeIn] = []
    for index, raw in enumerate(raw_edges if isinstance(raw_edges, list) else []):
        edge = _validated(EdgeIn, raw, f"Edge #{index + 1}", problems, "INVALID_EDGE")
        if edge is None:
            continue
        for end in ("source", "target"):
            if getattr(edge, end) not in ids:
                message = f'Edge "{edge.id}": {end} node "{getattr(edge, end)}" does not exist'
                problems.append(GraphProblem(None, end, "UNKNOWN_EDGE_ENDPOINT", message))
        if edge.id in seen_edges:
            message = f'Edge "{edge.id}": another edge has the same id'
            problems.append(GraphProblem(None, "id", "DUPLICATE_EDGE_ID", message))
        seen_edges.add(edge.id)
        graph_edges.append(edge)
    if not isinstance(raw_edges, list):
        problems.append(GraphProblem(None, "edges", "INVALID_EDGES", "edges must be a list"))
    if problems:
        raise GraphShapeError(problems)
    for node in parsed:
        node.incoming_nodes = list(dict.fromkeys(e.source for e in graph_edges if e.target == node.id))
        node.outgoing_nodes = list(dict.fromkeys(e.target for e in graph_edges if e.source == node.id))
    return Graph(nodes=parsed, edges=graph_edges)


def branch_targets(graph: Graph, node_id: str, handle: str | None) -> list[str]:
    """Ids of the nodes a node's `handle` branch (None: its plain edges) leads to, in order."""
    return [e.target for e in graph.edges if e.source == node_id and e.sourceHandle == handle]


def _reachable(adjacency: Mapping[str, Iterable[str]], starts: Iterable[str], *, stop: str = "") -> set[str]:
    seen: set[str] = set()
    queue = deque(start for start in starts if start != stop)
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        queue.extend(n for n in adjacency.get(current, ()) if n not in seen and n != stop)
    return seen


def _adjacency(edges: Iterable[EdgeIn], *, reverse: bool = False) -> dict[str, list[str]]:
    adjacency: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        source, target = (edge.target, edge.source) if reverse else (edge.source, edge.target)
        adjacency[source].append(target)
    return adjacency


def loop_body_nodes(graph: Graph, loop_id: str) -> set[str]:
    """Nodes reachable from a loop's `body` edge without passing back through the loop."""
    body_starts = branch_targets(graph, loop_id, BODY_HANDLE)
    return _reachable(_adjacency(graph.edges), body_starts, stop=loop_id)


def _loop_back_edges(graph: Graph) -> set[str]:
    """Ids of edges that go from inside a loop's body back to that loop (allowed cycles)."""
    back: set[str] = set()
    for loop in (node for node in graph.nodes if node.type == LOOP_TYPE):
        body = loop_body_nodes(graph, loop.id)
        back.update(e.id for e in graph.edges if e.target == loop.id and e.source in body)
    return back


def _forward_edges(graph: Graph) -> list[EdgeIn]:
    back = _loop_back_edges(graph)
    return [edge for edge in graph.edges if edge.id not in back]


def upstream_nodes(graph: Graph, node_id: str) -> set[str]:
    """Ids of the nodes that run before `node_id` on some path (loop back edges ignored)."""
    return _reachable(_adjacency(_forward_edges(graph), reverse=True), [node_id]) - {node_id}
