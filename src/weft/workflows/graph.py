"""The workflow graph: Refold-shaped nodes and edges, their normalisation, publish validation."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from weft.expressions import ExpressionSyntaxError, referenced_nodes
from weft.nodes import (
    NODE_TYPES,
    NodeConfigError,
    UnknownNodeTypeError,
    describe_errors,
    parse_node_config,
)
from weft.nodes.base import ERROR_HANDLE
from weft.nodes.loop import BODY_HANDLE
from weft.workflows.layout import layered_positions

ModelT = TypeVar("ModelT", bound=BaseModel)

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


def _validated(model: type[ModelT], raw: Any, label: str, code: str) -> ModelT | list[GraphProblem]:
    """`raw` as `model`, or the problems that stop it being one."""
    if not isinstance(raw, Mapping):
        return [GraphProblem(None, None, code, f"{label} is not an object")]
    # A node problem is tied to the node's id when it has a usable one.
    node_id = raw.get("id") if code == "INVALID_NODE" else None
    node_id = node_id if isinstance(node_id, str) and node_id else None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        return [
            GraphProblem(node_id, field, code, f"{label}: {field}: {message}")
            for field, message in describe_errors(error.errors())
        ]


def _endpoint_problems(edge: EdgeIn, ids: set[str]) -> list[GraphProblem]:
    return [
        GraphProblem(
            None,
            end,
            "UNKNOWN_EDGE_ENDPOINT",
            f'Edge "{edge.id}": {end} node "{node_id}" does not exist',
        )
        for end, node_id in (("source", edge.source), ("target", edge.target))
        if node_id not in ids
    ]


def _parse_nodes(nodes: list[Any], problems: list[GraphProblem]) -> list[NodeIn]:
    parsed: dict[str, NodeIn] = {}
    for index, raw in enumerate(nodes):
        node = _validated(NodeIn, raw, f"Node #{index + 1}", "INVALID_NODE")
        if isinstance(node, list):
            problems += node
            continue
        if node.type not in NODE_TYPES:
            detail = f"unknown node type {node.type!r}"
            problems.append(_problem(node, "type", "UNKNOWN_NODE_TYPE", detail))
        if node.id in parsed:
            problems.append(_problem(node, "id", "DUPLICATE_NODE_ID", "another node has this id"))
            continue
        parsed[node.id] = node
    return list(parsed.values())


def _parse_edges(edges: list[Any], ids: set[str], problems: list[GraphProblem]) -> list[EdgeIn]:
    parsed: dict[str, EdgeIn] = {}
    for index, raw in enumerate(edges):
        edge = _validated(EdgeIn, raw, f"Edge #{index + 1}", "INVALID_EDGE")
        if isinstance(edge, list):
            problems += edge
            continue
        problems += _endpoint_problems(edge, ids)
        if edge.id in parsed:
            message = f'Edge "{edge.id}": another edge has this id'
            problems.append(GraphProblem(None, "id", "DUPLICATE_EDGE_ID", message))
        parsed[edge.id] = edge
    return list(parsed.values())


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
    problems: list[GraphProblem] = []
    parsed = _parse_nodes(nodes, problems)
    raw_edges = _derived_edges(parsed) if edges is None else edges
    graph_edges = _parse_edges(raw_edges, {node.id for node in parsed}, problems)
    if problems:
        raise GraphShapeError(problems)
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


def _reachable(
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


def _say(node: NodeIn, detail: str) -> str:
    return f'Node "{node.name}" ({node.id}): {detail}'


def _problem(node: NodeIn, field: str | None, code: str, detail: str) -> GraphProblem:
    return GraphProblem(node.id, field, code, _say(node, detail))


def _data_problem(node: NodeIn, field: str, code: str, detail: str) -> GraphProblem:
    """A problem inside the node's `data`; `field` is a path within it (`url`, `cases[0].name`)."""
    return GraphProblem(node.id, field, code, _say(node, f"{field}: {detail}"))


def _check_start(graph: Graph) -> list[GraphProblem]:
    starts = [node for node in graph.nodes if node.type == START_TYPE]
    if not starts:
        return [GraphProblem(None, None, "NO_START_NODE", "The workflow has no start node")]
    problems = []
    by_id = {node.id: node for node in starts}
    if len(starts) > 1:
        ids = ", ".join(node.id for node in starts)
        detail = f"a workflow has exactly one start node, this one has {len(starts)} ({ids})"
        problems += [_problem(node, None, "MULTIPLE_START_NODES", detail) for node in starts]
    for edge in graph.edges:
        if edge.target in by_id:
            detail = f'edge "{edge.id}" leads into the start node; nothing may run before it'
            problems.append(_problem(by_id[edge.target], None, "START_NODE_HAS_INCOMING", detail))
    return problems


def _check_names(graph: Graph) -> list[GraphProblem]:
    by_slug: dict[str, list[NodeIn]] = defaultdict(list)
    problems = []
    for node in graph.nodes:
        slug = slugify_name(node.name)
        if not slug:
            detail = "the name needs a letter or digit so expressions can reference it"
            problems.append(_problem(node, "name", "INVALID_NODE_NAME", detail))
        else:
            by_slug[slug].append(node)
    for slug, nodes in by_slug.items():
        if len(nodes) > 1:
            ids = ", ".join(node.id for node in nodes)
            detail = f'nodes {ids} share the name "nodes.{slug}" in expressions; rename all but one'
            problems += [_problem(node, "name", "DUPLICATE_NODE_NAME", detail) for node in nodes]
    return problems


def _check_edges(graph: Graph) -> list[GraphProblem]:
    ids = {node.id for node in graph.nodes}
    problems = [problem for edge in graph.edges for problem in _endpoint_problems(edge, ids)]
    for node in graph.nodes:
        model, data = NODE_TYPES.get(node.type), node.data or {}
        if model is None:
            continue
        allowed = model.allowed_handles(data)
        outgoing = [edge for edge in graph.edges if edge.source == node.id]
        for edge in outgoing:
            if edge.sourceHandle not in allowed:
                names = ", ".join(sorted("(none)" if h is None else h for h in allowed))
                detail = (
                    f'edge "{edge.id}" leaves by branch "{edge.sourceHandle or "(none)"}"; '
                    f"this node's branches are: {names}"
                )
                problems.append(_problem(node, None, "INVALID_HANDLE", detail))
        if data.get("on_error") == "error" and not any(
            edge.sourceHandle == ERROR_HANDLE for edge in outgoing
        ):
            detail = 'is "error" but no edge leaves by the "error" branch'
            problems.append(_data_problem(node, "on_error", "MISSING_ERROR_EDGE", detail))
    return problems


def _check_cycles(graph: Graph, forward: list[EdgeIn]) -> list[GraphProblem]:
    adjacency, names = _adjacency(forward), {node.id: node for node in graph.nodes}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    problems = []
    for root in names:
        if root in state:
            continue
        path, stack = [root], [iter(adjacency.get(root, ()))]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                loop = [*path[path.index(child) :], child]
                shown = " -> ".join(f'"{names[n].name}"' for n in loop if n in names)
                detail = f"cycle {shown}; only a loop's body may lead back to its loop node"
                problems.append(_problem(names[path[-1]], None, "CYCLE", detail))
            elif child not in state and child in names:
                state[child] = 1
                path.append(child)
                stack.append(iter(adjacency.get(child, ())))
    return problems


def _check_reachable(graph: Graph) -> list[GraphProblem]:
    starts = [node.id for node in graph.nodes if node.type == START_TYPE]
    if not starts:
        return []
    reached = _reachable(_adjacency(graph.edges), starts)
    detail = "not reachable from the start node"
    return [
        _problem(node, None, "UNREACHABLE_NODE", detail)
        for node in graph.nodes
        if node.id not in reached
    ]


def _check_configs(graph: Graph) -> list[GraphProblem]:
    problems = []
    for node in graph.nodes:
        try:
            parse_node_config(node.type, node.data)
        except NodeConfigError as error:
            for field, message in error.problems():
                problems.append(_data_problem(node, field, "INVALID_CONFIG", message))
        except UnknownNodeTypeError:
            detail = f"unknown node type {node.type!r}"
            problems.append(_problem(node, "type", "UNKNOWN_NODE_TYPE", detail))
    return problems


def _reference_problem(
    node: NodeIn, name: str, targets: list[NodeIn], upstream: set[str], loops: dict[str, set[str]]
) -> tuple[str, str] | None:
    """(code, detail) when `node` may not read `nodes.<name>`, else None."""
    if not targets:
        return "UNKNOWN_NODE_REFERENCE", f'"nodes.{name}" names no node in this workflow'
    if all(node.id in loops.get(target.id, ()) for target in targets):
        return (
            "REFERENCE_NOT_UPSTREAM",
            f'"nodes.{name}" is the loop around this node; no output yet',
        )
    if not any(target.id in upstream for target in targets):
        return "REFERENCE_NOT_UPSTREAM", f'"nodes.{name}" does not run before this node'
    return None


def _check_expressions(graph: Graph, forward: list[EdgeIn]) -> list[GraphProblem]:
    by_slug: dict[str, list[NodeIn]] = defaultdict(list)
    for node in graph.nodes:
        by_slug[slugify_name(node.name)].append(node)
    reverse = _adjacency(forward, reverse=True)
    loops = {n.id: loop_body_nodes(graph, n.id) for n in graph.nodes if n.type == LOOP_TYPE}
    problems = []
    for node in graph.nodes:
        model = NODE_TYPES.get(node.type)
        if model is None:
            continue
        scan = model.scan_expressions(node.data or {})
        for field, message in scan.problems:
            problems.append(_data_problem(node, field, "EXPRESSION_SYNTAX", message))
        upstream = _reachable(reverse, [node.id]) - {node.id}
        for field, source in scan.expressions:
            try:
                names = referenced_nodes(source)
            except ExpressionSyntaxError as error:
                problems.append(_data_problem(node, field, "EXPRESSION_SYNTAX", error.message))
                continue
            for name in sorted(names):
                found = _reference_problem(node, name, by_slug.get(name, []), upstream, loops)
                if found:
                    problems.append(_data_problem(node, field, *found))
    return problems


def validate_for_publish(graph: Graph) -> list[GraphProblem]:
    """Every reason the graph cannot be published, all at once, ordered by node."""
    forward = _forward_edges(graph)
    problems = [
        *_check_start(graph),
        *_check_edges(graph),
        *_check_names(graph),
        *_check_cycles(graph, forward),
        *_check_reachable(graph),
        *_check_configs(graph),
        *_check_expressions(graph, forward),
    ]
    order = {node.id: index for index, node in enumerate(graph.nodes)}
    # Graph-wide problems first, then each node's together, in the order the nodes are listed.
    return sorted(problems, key=lambda problem: order.get(problem.node_id or "", -1))
