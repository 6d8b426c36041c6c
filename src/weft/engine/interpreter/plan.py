"""A workflow graph prepared for running: parsed configs, edges by node, orders, loop bodies.

Versions are immutable, so a plan is built once per (workflow, version) and cached.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from weft.nodes import NodeConfig, Role, has_role, parse_node_config
from weft.workflows.graph import (
    EdgeIn,
    Graph,
    NodeIn,
    loop_body_nodes,
    normalize_graph,
    slugify_name,
)


@dataclass
class Plan:
    """Everything the runner needs about one graph, computed once."""

    graph: Graph
    nodes: dict[str, NodeIn]
    configs: dict[str, NodeConfig]
    slugs: dict[str, str]
    incoming: dict[str, list[EdgeIn]]
    outgoing: dict[str, list[EdgeIn]]
    start_id: str
    main_order: list[str]
    body_order: dict[str, list[str]] = field(default_factory=dict)
    bodies: dict[str, set[str]] = field(default_factory=dict)

    def order_within(self, members: set[str]) -> list[str]:
        """Topological order of `members`, ignoring edges that leave the set."""
        pending = {n: 0 for n in members}
        for node_id in members:
            for edge in self.incoming[node_id]:
                if edge.source in members and not self._is_back_edge(edge):
                    pending[node_id] += 1
        ready = [n for n in self.graph_order if n in members and pending[n] == 0]
        order: list[str] = []
        while ready:
            node_id = ready.pop(0)
            order.append(node_id)
            for edge in self.outgoing[node_id]:
                if edge.target in members and not self._is_back_edge(edge):
                    pending[edge.target] -= 1
                    if pending[edge.target] == 0:
                        ready.append(edge.target)
        return order

    @property
    def graph_order(self) -> list[str]:
        """Node ids in the order the graph lists them (ties in topological order follow it)."""
        return [n.id for n in self.graph.nodes]

    def _is_back_edge(self, edge: EdgeIn) -> bool:
        # An edge from inside a loop body back to its loop node closes the body; not a cycle.
        # (`bodies` has an entry for every loop node and for nothing else.)
        return edge.source in self.bodies.get(edge.target, ())


def build_plan(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Plan:
    """Prepare a (published, so valid) graph for running."""
    graph = normalize_graph(nodes, edges)
    by_id = {n.id: n for n in graph.nodes}
    incoming: dict[str, list[EdgeIn]] = {n: [] for n in by_id}
    outgoing: dict[str, list[EdgeIn]] = {n: [] for n in by_id}
    for edge in graph.edges:
        outgoing[edge.source].append(edge)
        incoming[edge.target].append(edge)
    configs = {n.id: parse_node_config(n.type, n.data) for n in graph.nodes}
    start_id = next(n.id for n in graph.nodes if has_role(n.type, Role.START))
    plan = Plan(
        graph=graph,
        nodes=by_id,
        configs=configs,
        slugs={n.id: slugify_name(n.name) for n in graph.nodes},
        incoming=incoming,
        outgoing=outgoing,
        start_id=start_id,
        main_order=[],
    )
    bodies = {
        n.id: loop_body_nodes(graph, n.id) for n in graph.nodes if has_role(n.type, Role.LOOP)
    }
    plan.bodies = bodies
    in_some_body = set().union(*bodies.values()) if bodies else set()
    plan.main_order = plan.order_within(set(by_id) - in_some_body)
    for loop_id, body in bodies.items():
        nested = set().union(*(bodies[b] for b in body if b in bodies)) if body else set()
        plan.body_order[loop_id] = plan.order_within(body - nested)
    return plan


class PlanCache:
    """Plans by (workflow id, version): versions never change once published."""

    def __init__(self, size: int = 256) -> None:
        self._plans: OrderedDict[tuple[str, int], Plan] = OrderedDict()
        self._size = size

    def get(self, key: tuple[str, int]) -> Plan | None:
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
        return plan

    def put(self, key: tuple[str, int], plan: Plan) -> None:
        self._plans[key] = plan
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)
