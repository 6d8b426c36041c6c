"""Failed runs in a row: a workflow pauses itself after the org's limit, and its `Workflow
Errored` notifications are throttled.

A run's end carries a `RunOutcome` in its fenced write; the group commit records it in the very
transaction that ends the run, and only if the run's lease held (`record_outcomes`): a failure
adds one to the workflow's streak, a success sets it back to 0. Two processes ending runs of
one workflow at once are serialised by the `workflow_failures` row's lock (PostgreSQL) or the
single writer (SQLite), so the count is exact.

When a failure brings the streak to the org's `pause_after_failures` (default 10; 0 never pauses)
the workflow's `paused_at` is set: its triggers are refused with 423 `WORKFLOW_PAUSED`, its
schedules and app-trigger polls skip it, and `Workflow Paused` is queued once (only the failure
that set `paused_at` queues it). `Workflow Errored` goes out at most once per workflow per
`WEFT_WORKFLOW_ERRORED_WINDOW_S`; the next one carries how many were held back (`suppressed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from weft.clock import isoformat, now
from weft.store.dialects import dialect_of
from weft.store.tables import Org, Workflow, WorkflowFailures
from weft.tenancy.org_failures import pause_after_from
from weft.workflows.live_cache import LIVE_STARTS

_failures = WorkflowFailures.__table__


@dataclass(frozen=True)
class RunOutcome:
    """How a (non-test) run's end moves its workflow's failure streak."""

    workflow_id: str
    org_id: str
    execution_id: str
    failed: bool
    error: str | None = None  # the failure as a sentence
    # `Workflow Errored` deliveries, queued unless the throttle holds them back.
    errored: Sequence[dict[str, Any]] = ()
    # `Workflow Paused` deliveries, queued only by the failure that pauses the workflow.
    paused: Sequence[dict[str, Any]] = ()
    window_s: float = 0.0


def error_sentence(error: Any) -> str:
    """A run's error as one readable sentence (`Step "Fetch" failed: HTTP 500 …`)."""
    if isinstance(error, dict):
        message = str(error.get("message") or "The run failed")
        node = error.get("node_name")
        return f'Step "{node}" failed: {message}' if node else message
    return "The run failed" if error is None else str(error)


def record_outcomes(connection: Connection, outcomes: Sequence[RunOutcome]) -> list[dict[str, Any]]:
    """Record the outcomes of runs whose end lands in this transaction, in order; the
    notification deliveries they queue (the throttled `Workflow Errored`, `Workflow Paused`)."""
    if not any(outcome.failed for outcome in outcomes):
        reset_streaks(connection, [outcome.workflow_id for outcome in outcomes])
        return []
    deliveries: list[dict[str, Any]] = []
    # By workflow (a stable sort keeps each workflow's own order): two batches lock the
    # `workflow_failures` rows they share in one order, so they cannot deadlock.
    for outcome in sorted(outcomes, key=lambda outcome: outcome.workflow_id):
        if outcome.failed:
            deliveries += _record_failure(connection, outcome)
        else:
            reset_streaks(connection, [outcome.workflow_id])
    return deliveries


def reset_streaks(connection: Connection, workflow_ids: Sequence[str]) -> None:
    """A success: the streak is 0 again (no write when it already was, or no row exists)."""
    if workflow_ids:
        moment = now()
        connection.execute(
            _RESET, [{"wid": wid, "moment": moment} for wid in sorted(set(workflow_ids))]
        )


# Built once: every batch of successes runs it, and SQLAlchemy memoises a statement's cache key
# on the object (a fresh statement per batch cost ~10 times more CPU). An equality run as an
# executemany, not an expanding IN: that is re-rendered on each call (22 µs against 43 on SQLite).
_RESET = (
    update(_failures)
    .where(_failures.c.workflow_id == bindparam("wid"), _failures.c.streak > 0)
    .values(streak=0, updated_at=bindparam("moment", type_=_failures.c.updated_at.type))
)


def _record_failure(connection: Connection, outcome: RunOutcome) -> list[dict[str, Any]]:
    moment = now()
    dialect = dialect_of(connection)
    connection.execute(
        dialect.insert(_failures)
        .values(workflow_id=outcome.workflow_id, streak=0, errored_suppressed=0, updated_at=moment)
        .on_conflict_do_nothing(index_elements=["workflow_id"])
    )
    row = connection.execute(
        select(_failures).where(_failures.c.workflow_id == outcome.workflow_id).with_for_update()
    ).one()
    streak = row.streak + 1
    values: dict[str, Any] = {
        "streak": streak,
        "last_execution_id": outcome.execution_id,
        "last_error": outcome.error,
        "updated_at": moment,
    }
    deliveries: list[dict[str, Any]] = []
    if outcome.errored:
        if _window_over(row.errored_sent_at, outcome.window_s, moment):
            held_back = {"suppressed": row.errored_suppressed}
            deliveries += [_with_fields(d, held_back) for d in outcome.errored]
            values.update(errored_sent_at=moment, errored_suppressed=0)
        else:
            values["errored_suppressed"] = row.errored_suppressed + 1
    settings = connection.scalar(select(Org.settings).where(Org.id == outcome.org_id))
    limit = pause_after_from(settings)
    if limit and streak >= limit and _pause(connection, outcome.workflow_id, moment):
        values.update(
            paused_streak=streak,
            paused_execution_id=outcome.execution_id,
            paused_error=outcome.error,
        )
        about = {"failures": streak, "reason": outcome.error, "paused_at": isoformat(moment)}
        deliveries += [_with_fields(d, about) for d in outcome.paused]
    connection.execute(
        update(_failures).where(_failures.c.workflow_id == outcome.workflow_id).values(**values)
    )
    return deliveries


def _window_over(sent_at: datetime | None, window_s: float, moment: datetime) -> bool:
    return sent_at is None or window_s <= 0 or sent_at <= moment - timedelta(seconds=window_s)


def _pause(connection: Connection, workflow_id: str, moment: datetime) -> bool:
    """Pause the workflow unless it already is; whether this call paused it."""
    table = Workflow.__table__
    result = connection.execute(
        update(table)
        .where(table.c.id == workflow_id, table.c.paused_at.is_(None))
        .values(paused_at=moment)
    )
    if not result.rowcount:
        return False
    # Its webhook and events must be refused from now on, not once the cached answer expires
    # (a reload between this and the commit still sees the old row: LIVE_STARTS's TTL bounds it).
    LIVE_STARTS.forget_all()
    return True


def _with_fields(delivery: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    return {**delivery, "payload": {**delivery["payload"], **fields}}


def outcome_rows_valid(outcome: RunOutcome | None, valid: Any) -> RunOutcome | None:
    """The outcome with its deliveries' strings made valid (store.json_codec's `valid`)."""
    if outcome is None:
        return None
    return replace(
        outcome, errored=valid(list(outcome.errored)), paused=valid(list(outcome.paused))
    )
