"""`respond`: the response a synchronous caller receives (`return_value`).

`run()` renders it; committing it at once, before the steps after it, is the interpreter's part:
engine.interpreter.control_flow `respond_step`, reached through `Role.RESPOND`.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import Field

from weft.net.headers import FRAMING_HEADERS, header_problem
from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind, Role
from weft.nodes.runtime import NodeContext, NodeFailure, NodeResult

NODE_TYPE = "respond"


class Config(NodeConfig):
    """Respond data: status, headers and a templated body."""

    template_fields: ClassVar[tuple[str, ...]] = ("headers", "body")

    # A final answer: 1xx statuses announce one to come and would leave the caller waiting.
    status: int = Field(200, ge=200, le=599)
    headers: dict[str, Any] = Field(default_factory=dict)
    body: Any = None


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """The answer a synchronous caller receives: status, headers and the rendered body."""
    headers = _answer_headers((await ctx.render(config.headers, "headers")) or {})
    body = await ctx.render(config.body, "body")
    return NodeResult(output={"status": config.status, "headers": headers, "body": body})


def _answer_headers(rendered: dict[str, Any]) -> dict[str, str]:
    """The headers as they are sent: text (JSON for what is not a string, none for null), less
    the framing headers the server sets. A header that would break the answer on the wire (a
    line break from the caller's own input, a name that is no token) fails the step, which the
    caller then sees as the run's failure rather than as a server error."""
    headers = {}
    for name, value in rendered.items():
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if problem := header_problem(name, text):
            raise NodeFailure(problem)
        if name.lower() not in FRAMING_HEADERS:
            headers[name] = text
    return headers


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Respond",
    category="flow",
    description="Answer a synchronous webhook caller with a status, headers and body.",
    defaults={"status": 200, "body": {}},
    run=run,
    role=Role.RESPOND,
    pinnable=False,
    effectful=True,
    icon=NODE_TYPE,
    output_example={"status": 200, "headers": {}, "body": {}},
)
