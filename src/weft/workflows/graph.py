"""The workflow graph: Refold-shaped nodes and edges, their normalisation, publish validation."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from weft.nodes import BODY_HANDLE, KINDS, START_TYPE, Role, field_path, has_role
from weft.workflows.layout import layered_positions

ModelT = TypeVar("ModelT", bound=BaseModel)


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


def shown(text: str) -> str:
    """A sent id, name or type as a message repeats it: cut, since a hostile graph may send MBs."""
    return text[:100]


def node_problem(node: NodeIn, field: str | None, code: str, detail: str) -> GraphProblem:
    """A problem of one node, its message naming the node."""
    message = f'Node "{shown(node.name)}" ({shown(node.id)}): {detail}'
    return GraphProblem(node.id, field, code, message)


def edge_problem(edge: EdgeIn, field: str | None, code: str, detail: str) -> GraphProblem:
    """A problem of one edge, its message naming the edge."""
    return GraphProblem(None, field, code, f'Edge "{shown(edge.id)}": {detail}')


def slugify_name(name: str) -> str:
    """The name expressions use for a node: lower case, other characters runs folded to `_`."""
    return re.sub(r"[\W_]+", "_", name.lower()).strip("_")


@dataclass(frozen=True)
class ShapeFinding:
    """One thing wrong with a sent node or edge, before a caller words it as its own problem.

    `item` names the list and `index` the place in it; `loc` is where inside the item (empty:
    the item itself); `parsed` is the item once it validated; `node_id` a node's usable id.
    """

    item: Literal["node", "edge"]
    index: int
    loc: tuple[int | str, ...]
    code: str
    detail: str
    node_id: str | None = None
    parsed: NodeIn | EdgeIn | None = None


@dataclass
class Shape:
    """Sent nodes and edges once checked: the valid ones and everything found wrong."""

    nodes: list[NodeIn]  # the first node of each id
    edges: list[EdgeIn]
    findings: list[ShapeFinding]


def _usable_id(raw: Mapping[str, Any]) -> str | None:
    node_id = raw.get("id")
    return node_id if isinstance(node_id, str) and node_id else None


def _parsed(
    model: type[ModelT],
    item: Literal["node", "edge"],
    index: int,
    raw: Any,
    findings: list[ShapeFinding],
) -> ModelT | None:
    """`raw` as `model`, or None with what stops it being one added to `findings`."""
    code = f"INVALID_{item.upper()}"
    if not isinstance(raw, Mapping):
        findings.append(ShapeFinding(item, index, (), code, "not a JSON object"))
        return None
    node_id = _usable_id(raw) if item == "node" else None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        findings += [
            ShapeFinding(item, index, tuple(e["loc"]), code, e["msg"], node_id)
            for e in error.errors()[:20]  # a hostile item may hold thousands
        ]
        return None


def missing_ends(edge: EdgeIn, ids: set[str]) -> list[tuple[str, str]]:
    """(end, detail) for each end of `edge` that names no node in `ids`."""
    return [
        (end, f'{end} node "{shown(node_id)}" does not exist')
        for end, node_id in (("source", edge.source), ("target", edge.target))
        if node_id not in ids
    ]


def endpoint_problems(edge: EdgeIn, ids: set[str]) -> list[GraphProblem]:
    """A problem for each end of `edge` that names no node in `ids`."""
    return [
        edge_problem(edge, end, "UNKNOWN_EDGE_ENDPOINT", detail)
        for end, detail in missing_ends(edge, ids)
    ]


def check_shape(nodes: list[Any], edges: list[Any] | None) -> Shape:
    """Check sent nodes and edges in one walk: objects, fields, known node types, unique ids,
    edges between existing nodes. `edges` None: derived from the nodes' in/out lists."""
    findings: list[ShapeFinding] = []
    parsed: dict[str, NodeIn] = {}
    ids: set[str] = set()  # a node that fails its own checks still exists for its edges
    for index, raw in enumerate(nodes):
        if isinstance(raw, Mapping) and (node_id := _usable_id(raw)):
            ids.add(node_id)
        node = _parsed(NodeIn, "node", index, raw, findings)
        if node is None:
            continue
        if node.type not in KINDS:
            detail = f"unknown node type {shown(node.type)!r}"
            findings.append(
                ShapeFinding("node", index, ("type",), "UNKNOWN_NODE_TYPE", detail, node.id, node)
            )
        if node.id in parsed:  # the first node keeps the id
            detail = "another node has this id"
            findings.append(
                ShapeFinding("node", index, ("id",), "DUPLICATE_NODE_ID", detail, node.id, node)
            )
            continue
        parsed[node.id] = node
    raw_edges = _derived_edges(list(parsed.values())) if edges is None else edges
    graph_edges: list[EdgeIn] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_edges):
        edge = _parsed(EdgeIn, "edge", index, raw, findings)
        if edge is None:
            continue
        findings += [
            ShapeFinding("edge", index, (end,), "UNKNOWN_EDGE_ENDPOINT", detail, parsed=edge)
            for end, detail in missing_ends(edge, ids)
        ]
        if edge.id in seen:
            detail = "another edge has this id"
            findings.append(
                ShapeFinding("edge", index, ("id",), "DUPLICATE_EDGE_ID", detail, parsed=edge)
            )
        seen.add(edge.id)
        graph_edges.append(edge)
    return Shape(list(parsed.values()), graph_edges, findings)


def _graph_problem(finding: ShapeFinding) -> GraphProblem:
    field = field_path(finding.loc) or None
    if isinstance(finding.parsed, NodeIn):
        return node_problem(finding.parsed, field, finding.code, finding.detail)
    if isinstance(finding.parsed, EdgeIn):
        return edge_problem(finding.parsed, field, finding.code, finding.detail)
    # Not valid enough to have a name: named by its place, `Node #2: id: Field required`.
    where = f"{finding.item.capitalize()} #{finding.index + 1}: " + (f"{field}: " if field else "")
    return GraphProblem(finding.node_id, field, finding.code, where + finding.detail)


def _derived_edges(nodes: list[NodeIn]) -> list[dict[str, Any]]:
    pairs: dict[tuple[str, str], None] = {}
    for node in nodes:
        for target in node.outgoing_nodes or []:
            pairs[(node.id, target)] = None
        for source in node.incoming_nodes or []:
            pairs[(source, node.id)] = None
    return [{"source": source, "target": target} for source, target in pairs]


def normalize_graph(nodes: list[Any], edges: list[Any] | None) -> Graph:
    """Check a graph's shape, derive edges when not sent, and every node's in/out lists."""
    shape = check_shape(nodes, edges)
    if shape.findings:
        raise GraphShapeError([_graph_problem(finding) for finding in shape.findings])
    parsed, graph_edges = shape.nodes, shape.edges
    incoming: dict[str, dict[str, None]] = defaultdict(dict)
    outgoing: dict[str, dict[str, None]] = defaultdict(dict)
    for edge in graph_edges:
        incoming[edge.target][edge.source] = None
        outgoing[edge.source][edge.target] = None
    placed = layered_positions(parsed, graph_edges)
    for node in parsed:
        node.incoming_nodes = list(incoming[node.id])
        node.outgoing_nodes = list(outgoing[node.id])
        if node.id in placed:
            node.position = Position(x=placed[node.id][0], y=placed[node.id][1])
    return Graph(nodes=parsed, edges=graph_edges)


def branch_targets(graph: Graph, node_id: str, handle: str | None) -> list[str]:
    """Ids of the nodes a node's `handle` branch (None: its plain edges) leads to, in order."""
    return [e.target for e in graph.edges if e.source == node_id and e.sourceHandle == handle]


def reachable(
    adjacency: Mapping[str, Iterable[str]], starts: Iterable[str], *, stop: str = ""
) -> set[str]:
    seen: set[str] = set()
    queue = deque(start for start in starts if start != stop)
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        queue.extend(n for n in adjacency.get(current, ()) if n not in seen and n != stop)
    return seen


def adjacency(edges: Iterable[EdgeIn], *, reverse: bool = False) -> dict[str, list[str]]:
    adjacency: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        source, target = (edge.target, edge.source) if reverse else (edge.source, edge.target)
        adjacency[source].append(target)
    return adjacency


def loop_body_nodes(graph: Graph, loop_id: str) -> set[str]:
    """Nodes reachable from a loop's `body` edge without passing back through the loop."""
    body_starts = branch_targets(graph, loop_id, BODY_HANDLE)
    return reachable(adjacency(graph.edges), body_starts, stop=loop_id)


def _loop_back_edges(graph: Graph) -> set[str]:
    """Ids of edges that go from inside a loop's body back to that loop (allowed cycles)."""
    back: set[str] = set()
    for loop in (node for node in graph.nodes if has_role(node.type, Role.LOOP)):
        body = loop_body_nodes(graph, loop.id)
        back.update(e.id for e in graph.edges if e.target == loop.id and e.source in body)
    return back


def forward_edges(graph: Graph) -> list[EdgeIn]:
    back = _loop_back_edges(graph)
    return [edge for edge in graph.edges if edge.id not in back]


def upstream_nodes(graph: Graph, node_id: str) -> set[str]:
    """Ids of the nodes that run before `node_id` on some path (loop back edges ignored)."""
    return reachable(adjacency(forward_edges(graph), reverse=True), [node_id]) - {node_id}
