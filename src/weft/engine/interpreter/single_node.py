"""Running one node alone with given inputs ("run node" in the editor): nothing is stored, but
what it answers has its strings made valid as a run's recorded step would (store.json_codec)."""

from __future__ import annotations

import time
from typing import Any

from weft.clock import now
from weft.engine.interpreter.context import caller_of, expression_scope, node_context
from weft.engine.interpreter.control_flow import loop_items, wake_time
from weft.engine.interpreter.outbound import outbound_for
from weft.engine.interpreter.safe_mode import effect_of, preview_request
from weft.engine.workers.services import Services
from weft.errors import InvalidInput, NotFound
from weft.expressions.evaluator import Limits
from weft.nodes import NodeConfigError, Role, kind_of, parse_node_config
from weft.nodes.runtime import NodeFailure
from weft.store.json_codec import valid_json
from weft.workflows.graph import normalize_graph


async def run_single_node(
    services: Services,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    node_id: str,
    inputs: dict[str, Any],
    *,
    apps: Any = None,
) -> dict[str, Any]:
    """Run `node_id` of a draft graph against `inputs` ({trigger, nodes, loop, config}).

    `apps` is the app gateway app_action, ai and signed http nodes call through.
    """
    graph = normalize_graph(nodes, edges)
    node = graph.node(node_id)
    if node is None:
        raise NotFound(f"Node {node_id} not found in the draft", error_code="NODE_NOT_FOUND")
    kind = kind_of(node.type)
    if not kind.runs_alone:
        raise InvalidInput(f"A {node.type} node cannot run alone", error_code="NODE_NOT_RUNNABLE")
    try:
        config = parse_node_config(node.type, node.data)
    except NodeConfigError as error:
        problems = "; ".join(f"{field}: {message}" for field, message in error.problems())
        raise InvalidInput(f"Node {node_id} is not valid: {problems}") from error
    data = expression_scope(
        trigger=inputs.get("trigger"),
        nodes=inputs.get("nodes") or {},
        loop=inputs.get("loop"),
        config=inputs.get("config"),
    )
    limits = Limits(
        services.settings.expression_timeout_ms,
        services.settings.expression_max_depth,
        services.settings.expression_native,
    )
    ctx = node_context(
        node,
        data,
        limits,
        outbound=await outbound_for(services, apps.org_id) if apps else services.outbound,
        sandbox=services.sandbox,
        # The editor's "run node" waits its linked account's turn at the code pool too.
        caller=caller_of(apps.org_id, apps.linked_account_pk) if apps is not None else "",
        extras={"apps": apps} if apps is not None else None,
    )
    started = time.perf_counter()
    result: dict[str, Any] = {"node_id": node.id, "node_type": node.type, "branch": None}
    try:
        if not inputs.get("run_for_real") and effect_of(node.type, config) == "write":
            # Safe mode, as in test runs: show what would be sent, send nothing.
            would_send = await preview_request(node.type, config, ctx)
            result.update(status="SKIPPED", output={"safe_mode": True, "would_send": would_send})
            result.update(error=None, execution_time=(time.perf_counter() - started) * 1000)
            return valid_json(result)
        # Loop and delay are evaluated as a run would (engine.interpreter.control_flow), without
        # running on.
        if kind.role is Role.LOOP:
            output: Any = await loop_items(config, ctx, services.settings.loop_max_items)
        elif kind.role is Role.DELAY:
            output = {"would_wait_until": (await wake_time(config, ctx, now())).isoformat()}
        else:
            assert kind.run is not None  # every kind that runs alone has a run() or a role above
            outcome = await kind.run(config, ctx)
            output, result["branch"] = outcome.output, outcome.branch
        result.update(status="COMPLETED", output=output, error=None)
    except NodeFailure as failure:
        result.update(status="FAILED", output=None, error=failure.to_json())
    result["execution_time"] = (time.perf_counter() - started) * 1000
    return valid_json(result)
