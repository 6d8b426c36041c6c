"""Publish checks of a workflow graph: every problem at once, per node (DESIGN §3).

Exactly one start node, edges between existing nodes on handles their source allows, no cycle
outside a loop body, every node reachable, every `data` valid for its type, every expression
parsing and referring only to upstream nodes.
"""

from __future__ import annotations

from collections import defaultdict

from weft.expressions import ExpressionSyntaxError, referenced_nodes
from weft.nodes import (
    ERROR_HANDLE,
    KINDS,
    NodeConfigError,
    Role,
    UnknownNodeTypeError,
    has_role,
    parse_node_config,
)
from weft.workflows.graph import (
    EdgeIn,
    Graph,
    GraphProblem,
    NodeIn,
    adjacency,
    endpoint_problems,
    forward_edges,
    loop_body_nodes,
    node_problem,
    reachable,
    slugify_name,
)


def _data_problem(node: NodeIn, field: str, code: str, detail: str) -> GraphProblem:
    """A problem inside the node's `data`; `field` is a path within it (`url`, `cases[0].name`)."""
    return node_problem(node, field, code, f"{field}: {detail}")


def _check_start(graph: Graph) -> list[GraphProblem]:
    starts = [node for node in graph.nodes if has_role(node.type, Role.START)]
    if not starts:
        return [GraphProblem(None, None, "NO_START_NODE", "The workflow has no start node")]
    problems = []
    by_id = {node.id: node for node in starts}
    if len(starts) > 1:
        ids = ", ".join(node.id for node in starts)
        detail = f"a workflow has exactly one start node, this one has {len(starts)} ({ids})"
        problems += [node_problem(node, None, "MULTIPLE_START_NODES", detail) for node in starts]
    for edge in graph.edges:
        if edge.target in by_id:
            detail = f'edge "{edge.id}" leads into the start node; nothing may run before it'
            problems.append(
                node_problem(by_id[edge.target], None, "START_NODE_HAS_INCOMING", detail)
            )
    return problems


def _check_names(graph: Graph) -> list[GraphProblem]:
    by_slug: dict[str, list[NodeIn]] = defaultdict(list)
    problems = []
    for node in graph.nodes:
        slug = slugify_name(node.name)
        if not slug:
            detail = "the name needs a letter or digit so expressions can reference it"
            problems.append(node_problem(node, "name", "INVALID_NODE_NAME", detail))
        else:
            by_slug[slug].append(node)
    for slug, nodes in by_slug.items():
        if len(nodes) > 1:
            ids = ", ".join(node.id for node in nodes)
            detail = f'nodes {ids} share the name "nodes.{slug}" in expressions; rename all but one'
            problems += [
                node_problem(node, "name", "DUPLICATE_NODE_NAME", detail) for node in nodes
            ]
    return problems


def _check_edges(graph: Graph) -> list[GraphProblem]:
    ids = {node.id for node in graph.nodes}
    problems = [problem for edge in graph.edges for problem in endpoint_problems(edge, ids)]
    for node in graph.nodes:
        kind, data = KINDS.get(node.type), node.data or {}
        if kind is None:
            continue
        allowed = kind.config.allowed_handles(data)
        outgoing = [edge for edge in graph.edges if edge.source == node.id]
        for edge in outgoing:
            if edge.sourceHandle not in allowed:
                names = ", ".join(sorted("(none)" if h is None else h for h in allowed))
                detail = (
                    f'edge "{edge.id}" leaves by branch "{edge.sourceHandle or "(none)"}"; '
                    f"this node's branches are: {names}"
                )
                problems.append(node_problem(node, None, "INVALID_HANDLE", detail))
        if data.get("on_error") == "error" and not any(
            edge.sourceHandle == ERROR_HANDLE for edge in outgoing
        ):
            detail = 'is "error" but no edge leaves by the "error" branch'
            problems.append(_data_problem(node, "on_error", "MISSING_ERROR_EDGE", detail))
    return problems


def _check_cycles(graph: Graph, forward: list[EdgeIn]) -> list[GraphProblem]:
    edges_from, names = adjacency(forward), {node.id: node for node in graph.nodes}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    problems = []
    for root in names:
        if root in state:
            continue
        path, stack = [root], [iter(edges_from.get(root, ()))]
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
                problems.append(node_problem(names[path[-1]], None, "CYCLE", detail))
            elif child not in state and child in names:
                state[child] = 1
                path.append(child)
                stack.append(iter(edges_from.get(child, ())))
    return problems


def _check_reachable(graph: Graph) -> list[GraphProblem]:
    starts = [node.id for node in graph.nodes if has_role(node.type, Role.START)]
    if not starts:
        return []
    reached = reachable(adjacency(graph.edges), starts)
    detail = "not reachable from the start node"
    return [
        node_problem(node, None, "UNREACHABLE_NODE", detail)
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
            problems.append(node_problem(node, "type", "UNKNOWN_NODE_TYPE", detail))
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
    reverse = adjacency(forward, reverse=True)
    loops = {n.id: loop_body_nodes(graph, n.id) for n in graph.nodes if has_role(n.type, Role.LOOP)}
    problems = []
    for node in graph.nodes:
        kind = KINDS.get(node.type)
        if kind is None:
            continue
        scan = kind.config.scan_expressions(node.data or {})
        for field, message in scan.problems:
            problems.append(_data_problem(node, field, "EXPRESSION_SYNTAX", message))
        upstream = reachable(reverse, [node.id]) - {node.id}
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
    forward = forward_edges(graph)
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
