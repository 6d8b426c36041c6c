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
