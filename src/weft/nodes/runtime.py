"""What a node's `run()` receives and returns. Nodes never open a database session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class NodeFailure(Exception):
    """A node that failed: a user-facing message, and whether trying again may help."""

    def __init__(
        self, message: str, *, retryable: bool = False, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        """The error as stored on the step and shown by the API."""
        return {"message": self.message, "retryable": self.retryable, **self.details}


@dataclass
class NodeResult:
    """A node's output, the branch it chose (branching nodes) and what it ran on."""

    output: Any = None
    branch: str | None = None
    input: Any = None


class Outbound(Protocol):
    async def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


class Sandbox(Protocol):
    async def run(self, source: str, input: Any, *, timeout_ms: int, memory_mb: int) -> Any: ...


@dataclass
class NodeContext:
    """The data a node sees (`{trigger, nodes, loop, env, config}`) and the services it may use."""

    data: dict[str, Any]
    render: Any  # async (value, field) -> value with templates evaluated; raises NodeFailure
    evaluate: Any  # async (source, field) -> value of a bare expression; raises NodeFailure
    outbound: Outbound
    sandbox: Sandbox
    extras: dict[str, Any] = field(default_factory=dict)
    # Each field's value after its templates/expression were evaluated: the step's input.
    resolved: dict[str, Any] = field(default_factory=dict)


def app_gateway(ctx: NodeContext, needed_by: str) -> Any:
    """The engine's app gateway (connections, app calls), or a failure saying who needs it."""
    apps = ctx.extras.get("apps")
    if apps is None:
        raise NodeFailure(f"{needed_by} need the engine's app gateway")
    return apps


async def render_object(ctx: NodeContext, value: Any, field_name: str) -> dict[str, Any]:
    """`value` rendered, which must give an object (nothing: an empty one)."""
    rendered = (await ctx.render(value, field_name)) or {}
    if not isinstance(rendered, dict):
        raise NodeFailure(f"{field_name} must render to an object")
    return rendered


def outbound_failure(error: Any, url: str, request: Any) -> NodeFailure:
    """A request that never got an answer (weft.net's OutboundError) as the step's failure:
    its message with the URL's secrets hidden, and the request as the step records it."""
    from weft.redaction import redact_url

    return NodeFailure(
        error.message.replace(url, redact_url(url)),
        retryable=error.retryable,
        details={"request": request},
    )
