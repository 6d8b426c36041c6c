"""`NodeKind`: everything about one node type in one record, declared in the type's own module.

The rest of Weft asks a kind, never a type name: the engine (its role in the run, whether it
has outside effects), safe mode (its effect, what it would send, whether it may be pinned),
single-node runs, graph validation (its branches) and the editor's palette (label, category,
icon, defaults).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from weft.nodes.base import NodeConfig
from weft.nodes.runtime import NodeContext, NodeResult

Category = Literal["trigger", "action", "logic", "flow", "ai"]
# none: touches nothing outside; read: fetches only; write: changes something outside;
# depends: decided per node from its data (an http method, an app action's declaration).
Effect = Literal["none", "read", "write", "depends"]
DEFAULT_ADVANCED = ("retry", "on_error", "timeout_s")


class Role(Enum):
    """What the interpreter does with a node of this kind (its control-step table's key)."""

    ORDINARY = "ordinary"  # run() under retries, timeout and on_error; its output flows on
    START = "trigger"  # its output is the run's trigger payload
    LOOP = "loop over items"  # walks its body branch once per item
    DELAY = "durable wait"  # parks the run until a moment
    SUBFLOW = "child run"  # starts another workflow's run and parks until it ends
    RESPOND = "answer the caller"  # its output is the run's response, committed at once
    END = "stop the run"  # its output ends the run with a status


@dataclass(frozen=True)
class NodeKind:
    """One node type: its config model, its behaviour and every trait other code asks about."""

    type: str
    config: type[NodeConfig]
    label: str
    category: Category
    description: str
    # A valid starting `data` for the editor's form.
    defaults: dict[str, Any] | None
    # `run(config, ctx) -> NodeResult`; None for kinds whose role the interpreter carries out
    # itself (start, loop, delay, sub-workflow).
    run: Callable[[Any, NodeContext], Awaitable[NodeResult]] | None = None
    role: Role = Role.ORDINARY
    # Fixed branch handles, or "cases" when they come from the data (condition). The "error"
    # branch exists on any node with on_error "error" and is not listed.
    branches: tuple[str, ...] | Literal["cases"] = ()
    effect: Effect = "none"
    # For effect "depends": the `data` values that make a node write.
    write_when: Mapping[str, tuple[str, ...]] | None = None
    # What a held-back write step would have sent (safe mode), rendered but not yet redacted.
    would_send: Callable[[Any, NodeContext], Awaitable[dict[str, Any]]] | None = None
    # False when its run decides the route or the end: a pinned output could not stand in.
    pinnable: bool = True
    # False when it only makes sense inside a run ("run node" in the editor refuses it).
    runs_alone: bool = True
    # Its step is one expression render, bounded by the expressions' own hard time limit.
    one_render: bool = False
    # It touches the world outside: committed before the next step, run only under a live lease.
    effectful: bool = False
    # How its data names an app of the catalog: "action" (an app and one of its actions) or
    # "connection" (an app whose connection signs the request); publish checks both exist, and
    # safe mode asks an action's app for its effect (engine.interpreter.safe_mode.effect_of).
    app_reference: Literal["action", "connection"] | None = None
    # What its steps count in usage metering: "action_call" (one app call per attempt; with
    # app_reference "connection", only when its data names a connection) or "code_time" (the
    # step's duration); None: only the step itself.
    meter: Literal["action_call", "code_time"] | None = None
    icon: str = ""
    output_example: Any = None
    # Fields a newcomer may leave as they are (kept collapsed in the form).
    advanced_fields: tuple[str, ...] = DEFAULT_ADVANCED
    # Shared config fields that do nothing for this kind (the editor leaves them out).
    hidden_fields: tuple[str, ...] = ()

    def metered(self, config: Any, attempts: int, duration_ms: float) -> tuple[int, int]:
        """(action calls, code milliseconds) a step of this kind used, given its row's values."""
        if self.meter == "code_time":
            return 0, round(duration_ms or 0)
        if self.meter == "action_call":
            if self.app_reference == "connection" and not getattr(config, "connection", None):
                return 0, 0
            return attempts or 1, 0
        return 0, 0

    def effect_on(self, config: Any) -> str:
        """`none`, `read` or `write`: what running a node of this kind with `config` does."""
        if self.effect != "depends":
            return self.effect
        if self.write_when is not None:
            when = self.write_when.items()
            writes = any(getattr(config, name, None) in values for name, values in when)
            return "write" if writes else "read"
        # Undecided: the safe guess (an app action's is its app's to say: engine's safe_mode).
        return "write"
