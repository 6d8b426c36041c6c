"""Execution statuses and the only transitions between them."""

from __future__ import annotations

from weft.notifications.events import WORKFLOW_COMPLETED, WORKFLOW_ERRORED

QUEUED = "queued"
RUNNING = "running"
WAITING = "waiting"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
ERRORED = "errored"  # Weft could not carry the run on: not the workflow's fault

ACTIVE = (QUEUED, RUNNING, WAITING)
TERMINAL = (SUCCEEDED, FAILED, CANCELLED, ERRORED)

# Refold's names for the API.
API_STATUS = {
    QUEUED: "QUEUED",
    RUNNING: "RUNNING",
    WAITING: "WAITING",
    SUCCEEDED: "COMPLETED",
    FAILED: "FAILED",
    CANCELLED: "CANCELLED",
    ERRORED: "ERRORED",
}

# Statuses of finished runs that notify the org, with the event each emits. Cancelled runs
# notify nobody.
NOTIFIED_EVENTS = {
    SUCCEEDED: WORKFLOW_COMPLETED,
    FAILED: WORKFLOW_ERRORED,
    ERRORED: WORKFLOW_ERRORED,
}

_ALLOWED: dict[str, set[str]] = {
    QUEUED: {RUNNING, CANCELLED},
    RUNNING: {RUNNING, WAITING, QUEUED, SUCCEEDED, FAILED, CANCELLED, ERRORED},
    WAITING: {RUNNING, CANCELLED},
    SUCCEEDED: set(),
    FAILED: set(),
    CANCELLED: set(),
    ERRORED: set(),
}


class IllegalTransition(RuntimeError):
    """A status change the state machine forbids: always a bug."""


def check_transition(current: str, new: str) -> None:
    """Raise unless an execution may go from `current` to `new`."""
    if new not in _ALLOWED.get(current, set()):
        raise IllegalTransition(f"execution cannot go from {current} to {new}")


def sources_of(new: str) -> tuple[str, ...]:
    """Every status an execution may go to `new` from (what a SQL guard on `new` allows)."""
    return tuple(current for current, allowed in _ALLOWED.items() if new in allowed)
