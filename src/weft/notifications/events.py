"""The notification events an org may subscribe to, and which run outcome emits which."""

from __future__ import annotations

from weft.engine import states

CONNECTION_CREATED = "Connection Created"
CONNECTION_DELETED = "Connection Deleted"
CONNECTION_EXPIRED = "Connection Expired"
WORKFLOW_COMPLETED = "Workflow Completed"
WORKFLOW_ERRORED = "Workflow Errored"

# Refold's fixed list; Weft emits every one of them.
EVENTS = (
    CONNECTION_CREATED,
    CONNECTION_DELETED,
    CONNECTION_EXPIRED,
    WORKFLOW_COMPLETED,
    WORKFLOW_ERRORED,
)
EMITTED = EVENTS

# Refold's older docs spell events as slugs (one of them misspelt); accept those too.
_ALIASES = {
    **{name.lower(): name for name in EVENTS},
    **{name.lower().replace(" ", "-"): name for name in EVENTS},
    "connected-created": CONNECTION_CREATED,
}

# Statuses of finished runs that notify, with the event each emits. Cancelled runs notify nobody.
RUN_EVENTS = {
    states.SUCCEEDED: WORKFLOW_COMPLETED,
    states.FAILED: WORKFLOW_ERRORED,
    states.ERRORED: WORKFLOW_ERRORED,
}
# The names the API shows for those statuses.
RUN_STATUS_NAMES = {status: states.API_STATUS[status] for status in RUN_EVENTS}


def canonical_event(name: str) -> str | None:
    """The event `name` means (`Workflow Completed` for `workflow-completed`), or None."""
    return _ALIASES.get(name.strip().lower())
