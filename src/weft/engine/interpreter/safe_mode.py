"""Test runs that are safe to start: pinned outputs, and write steps held back (safe mode).

A test run's options live beside its graph (`executions.test_graph["test_mode"]`). For each
step the runner asks `stand_in` first: a pinned step answers its given output without running;
a step that would change something outside (http POST/PUT/PATCH/DELETE, an app action, a
sub-workflow) answers the request it would have sent instead, unless the editor asked to run
that one for real. Later steps see these stand-in outputs as if the steps had run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from weft.apps.catalog import action_effect
from weft.errors import InvalidInput
from weft.nodes import KINDS
from weft.nodes.runtime import NodeContext
from weft.redaction import redact_fields
from weft.store.db import Database
from weft.store.tables import Execution
from weft.workflows.graph import slugify_name

SKIPPED = "skipped"  # a step's status when safe mode held it back


@dataclass(frozen=True)
class EditorTestOptions:
    """How one test run treats its steps."""

    __test__ = False  # not a pytest class, whatever its name

    safe: bool = True
    pinned: dict[str, Any] = field(default_factory=dict)
    run_for_real: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """As stored with the test run's graph."""
        return {
            "safe": self.safe,
            "pinned": self.pinned,
            "run_for_real": sorted(self.run_for_real),
        }

    @classmethod
    def from_json(cls, data: Any) -> EditorTestOptions:
        """The stored options; test runs from before these options were stored are safe."""
        if not isinstance(data, dict):
            return cls()
        return cls(
            safe=bool(data.get("safe", True)),
            pinned=dict(data.get("pinned") or {}),
            run_for_real=frozenset(data.get("run_for_real") or ()),
        )


@dataclass(frozen=True)
class StandIn:
    """What a test run records for a step it did not run."""

    status: str
    output: Any
    input: Any = None


def effect_of(node_type: str, config: Any) -> str:
    """`none`, `read` or `write`: what running this node does to the world outside."""
    kind = KINDS.get(node_type)
    if kind is None:
        return "write"
    if kind.app_reference == "action":
        # An app action's effect is declared by its app's definition, which nodes/ sits below.
        declared = action_effect(config.app, config.action)
        return declared if declared in ("none", "read", "write") else "write"
    return kind.effect_on(config)


async def stand_in(
    mode: EditorTestOptions, node_id: str, node_type: str, config: Any, ctx: NodeContext
) -> Any:
    """The stand-in for a step of a test run, or None to run the step as usual.

    Raises NodeFailure when the would-send request cannot be rendered, as the real step would.
    """
    if node_id in mode.pinned and KINDS[node_type].pinnable:
        return StandIn(status="succeeded", output=mode.pinned[node_id])
    if not mode.safe or node_id in mode.run_for_real:
        return None
    if effect_of(node_type, config) != "write":
        return None
    would_send = await preview_request(node_type, config, ctx)
    return StandIn(
        status=SKIPPED, output={"safe_mode": True, "would_send": would_send}, input=would_send
    )


async def preview_request(node_type: str, config: Any, ctx: NodeContext) -> dict[str, Any]:
    """What the node would send, rendered from the run's data, with credentials redacted."""
    would_send = KINDS[node_type].would_send
    if would_send is None:
        return {"node_type": node_type}
    return redact_fields(await would_send(config, ctx))


async def load_test_mode(db: Database, execution_id: str) -> EditorTestOptions:
    """The options a test run was started with."""
    async with db.reading() as session:
        graph = await session.scalar(
            select(Execution.test_graph).where(Execution.id == execution_id)
        )
    return EditorTestOptions.from_json((graph or {}).get("test_mode"))


def check_options(graph: Any, options: EditorTestOptions) -> EditorTestOptions:
    """The options with run-for-real steps named by id; refuses steps the draft lacks and pins
    a run cannot honour."""
    types = {node.id: node.type for node in graph.nodes}
    for node_id in options.pinned:
        if node_id not in types:
            raise InvalidInput(f"Node {node_id} is not in the draft", error_code="NODE_NOT_FOUND")
        if not KINDS[types[node_id]].pinnable:
            raise InvalidInput(
                f"A {types[node_id]} node cannot be pinned: its run decides the route",
                error_code="PIN_NOT_ALLOWED",
            )
    return replace(options, run_for_real=step_ids(graph, options.run_for_real))


def step_ids(graph: Any, wanted: frozenset[str]) -> frozenset[str]:
    """The ids of the steps `wanted` names, each by id or by name (`Create customer` and
    `create_customer` alike: a draft that can run has one node per expression name)."""
    by_name = {slugify_name(node.name): node.id for node in graph.nodes}
    ids = {node.id for node in graph.nodes}
    found: set[str] = set()
    unknown: list[str] = []
    for entry in sorted(wanted):
        node_id = entry if entry in ids else by_name.get(slugify_name(entry))
        if node_id is None:
            unknown.append(entry)
        else:
            found.add(node_id)
    if unknown:
        listed = ", ".join(f'"{entry}"' for entry in unknown)
        raise InvalidInput(
            f"run_for_real names no step of the draft: {listed}. Give each step's id or name, "
            'or "all" to run every write for real',
            error_code="NODE_NOT_FOUND",
            details={"field": "run_for_real", "unknown": unknown},
        )
    return frozenset(found)
