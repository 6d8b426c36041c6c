"""The notification events an org may subscribe to.

Which run outcome emits which event is the engine's to say (`engine.runs.states.NOTIFIED_EVENTS`):
this package sits below the engine and knows no run statuses.
"""

from __future__ import annotations

CONNECTION_CREATED = "Connection Created"
CONNECTION_DELETED = "Connection Deleted"
CONNECTION_EXPIRED = "Connection Expired"
WORKFLOW_COMPLETED = "Workflow Completed"
WORKFLOW_ERRORED = "Workflow Errored"
# Weft's own: a workflow paused itself after too many failed runs in a row.
WORKFLOW_PAUSED = "Workflow Paused"
QUOTA_REACHED = "Quota Reached"  # Weft's own: a start was refused past a quota (tenancy.quotas)

# Refold's fixed list, then Weft's own; Weft emits every one of them.
EVENTS = (
    CONNECTION_CREATED,
    CONNECTION_DELETED,
    CONNECTION_EXPIRED,
    WORKFLOW_COMPLETED,
    WORKFLOW_ERRORED,
    WORKFLOW_PAUSED,
    QUOTA_REACHED,
)
EMITTED = EVENTS

# Refold's older docs spell events as slugs (one of them misspelt); accept those too.
_ALIASES = {
    **{name.lower(): name for name in EVENTS},
    **{name.lower().replace(" ", "-"): name for name in EVENTS},
    "connected-created": CONNECTION_CREATED,
}


def canonical_event(name: str) -> str | None:
    """The event `name` means (`Workflow Completed` for `workflow-completed`), or None."""
    return _ALIASES.get(name.strip().lower())
