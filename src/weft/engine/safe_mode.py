"""Test runs that are safe to start: pinned outputs, and write steps held back (safe mode).

A test run's options live beside its graph (`executions.test_graph["test_mode"]`). For each
step the runner asks `stand_in` first: a pinned step answers its given output without running;
a step that would change something outside (http POST/PUT/PATCH/DELETE, an app action, a
sub-workflow) answers the request it would have sent instead, unless the editor asked to run
that one for real. Later steps see these stand-in outputs as if the steps had run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from weft.errors import InvalidInput
from weft.nodes.catalog import NODE_TYPE_INFO, WRITE_WHEN
from weft.nodes.runtime import NodeContext, NodeFailure
from weft.redaction import redact_request, redact_value
from weft.store.db import Database
from weft.store.tables import Execution

SKIPPED = "skipped"  # a step's status when safe mode held it back
WRITE_METHODS = frozenset(WRITE_WHEN["http"]["method"])
# Node types whose run decides the route or the end: a pinned output could not stand in.
UNPINNABLE = frozenset({"start", "condition", "loop", "end", "respond"})


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
    if node_type == "http":
        return "write" if getattr(config, "method", "GET") in WRITE_METHODS else "read"
    if node_type == "app_action":
        return _app_action_effect(config)
    if node_type == "workflow":
        return "write"  # the child is a live run and may write anything
    declared = NODE_TYPE_INFO.get(node_type)
    effect = declared.effect if declared else "write"
    return "write" if effect == "depends" else effect


def _app_action_effect(config: Any) -> str:
    """An app action's declared effect; undeclared ones count as writes (the safe guess)."""
    try:
        from weft.apps import catalog

        declared = catalog.action_effect(config.app, config.action)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, LookupError):
        return "write"
    return declared if declared in ("none", "read", "write") else "write"


async def stand_in(
    mode: EditorTestOptions, node_id: str, node_type: str, config: Any, ctx: NodeContext
) -> Any:
    """The stand-in for a step of a test run, or None to run the step as usual.

    Raises NodeFailure when the would-send request cannot be rendered, as the real step would.
    """
    if node_id in mode.pinned and node_type not in UNPINNABLE:
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
    if node_type == "http":
        headers = (await ctx.render(config.headers, "headers")) or {}
        query = (await ctx.render(config.query, "query")) or {}
        url = await ctx.render(config.url, "url")
        if not isinstance(url, str):
            raise NodeFailure(f"url must render to a string, got {type(url).__name__}")
        body = await ctx.render(config.body, "body")
        # Recorded as the step would record the request it sent (nodes/http.py).
        return redact_request(
            {"method": config.method, "url": url, "headers": headers, "query": query, "body": body}
        )
    if node_type == "app_action":
        params = (await ctx.render(config.params, "params")) or {}
        return {"app": config.app, "action": config.action, "params": redact_value(params)}
    if node_type == "workflow":
        payload = await ctx.render(config.payload, "payload")
        return {"workflow_id": config.workflow_id, "payload": redact_value(payload)}
    return {"node_type": node_type}


async def load_test_mode(db: Database, execution_id: str) -> EditorTestOptions:
    """The options a test run was started with."""
    async with db.reading() as session:
        graph = await session.scalar(
            select(Execution.test_graph).where(Execution.id == execution_id)
        )
    return EditorTestOptions.from_json((graph or {}).get("test_mode"))


def check_options(graph: Any, options: EditorTestOptions) -> None:
    """Refuse pins and run-for-real ids that name no node, and pins a run cannot honour."""
    types = {node.id: node.type for node in graph.nodes}
    for node_id in [*options.pinned, *options.run_for_real]:
        if node_id not in types:
            raise InvalidInput(f"Node {node_id} is not in the draft", error_code="NODE_NOT_FOUND")
    for node_id in options.pinned:
        if types[node_id] in UNPINNABLE:
            raise InvalidInput(
                f"A {types[node_id]} node cannot be pinned: its run decides the route",
                error_code="PIN_NOT_ALLOWED",
            )
