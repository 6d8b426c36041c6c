"""The delivery outbox: enqueue one row per subscriber, claim due rows, record each attempt.

A claim bumps `attempts` and pushes `due_at` out by a lease, so a process that dies mid-send
leaves the row to be claimed again when the lease ends. Every later write is fenced by the
attempt number it claimed: if the row was claimed again meanwhile, the stale write is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import isoformat, now
from weft.ids import new_id
from weft.notifications.subscriptions import has_subscriptions, subscribers_of
from weft.store.db import Database, skipping_taken_rows
from weft.store.tables import (
    Execution,
    LinkedAccount,
    NotificationDelivery,
    NotificationSubscription,
)

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
MAX_ERROR_LENGTH = 1000

_deliveries = NotificationDelivery.__table__


@dataclass(frozen=True)
class ClaimedDelivery:
    """One claimed attempt: what to send, where, and the attempt number that fences it."""

    id: str
    subscription_id: str
    event: str
    payload: dict[str, Any]
    attempts: int
    url: str
    secret_sealed: str
    org_id: str  # whose outbound policy the send goes under


async def enqueue_run_notifications(
    session: AsyncSession,
    *,
    org_id: str,
    environment: str,
    linked_account_id: str,
    workflow_id: str,
    execution_id: str,
    event: str,
    status: str,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Queue a delivery of a finished run's `event` per subscriber; a count. `status` is the
    run's status as the API names it (`COMPLETED`)."""
    fields = {
        "linked_account_id": linked_account_id,
        "workflow_id": workflow_id,
        "execution_id": execution_id,
        "status": status,
    }
    return await _queue_deliveries(
        session, org_id, environment, event, fields=fields, after_timestamp=extra
    )


async def enqueue_event_notifications(
    session: AsyncSession,
    *,
    org_id: str,
    environment: str,
    event: str,
    payload: Mapping[str, Any],
) -> int:
    """Queue a delivery of `event` (e.g. `Connection Created`) per subscriber; a count."""
    return await _queue_deliveries(session, org_id, environment, event, fields=payload)


async def _queue_deliveries(
    session: AsyncSession,
    org_id: str,
    environment: str,
    event: str,
    *,
    fields: Mapping[str, Any],
    after_timestamp: Mapping[str, Any] | None = None,
) -> int:
    """One pending delivery of `event` per subscriber, `fields` inside its envelope; a count."""
    subscribers = await subscribers_of(org_id, environment, event, session=session)
    rows = _delivery_rows(subscribers, org_id, environment, event, fields, after_timestamp)
    if rows:
        await session.execute(insert(_deliveries), rows)
    return len(rows)


def _delivery_rows(
    subscribers: Sequence[NotificationSubscription],
    org_id: str,
    environment: str,
    event: str,
    fields: Mapping[str, Any],
    after_timestamp: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """A pending delivery row of `event` per subscriber, `fields` inside its envelope."""
    moment = now()
    rows = []
    for subscription in subscribers:
        delivery_id = new_id()
        body = {
            "event": event,
            "delivery_id": delivery_id,
            "org_id": org_id,
            "environment": environment,
            **fields,
            "timestamp": isoformat(moment),
            **(after_timestamp or {}),
        }
        rows.append(
            {
                "id": delivery_id,
                "subscription_id": subscription.id,
                "event": event,
                "payload": body,
                "status": PENDING,
                "attempts": 0,
                "due_at": moment,
                "created_at": moment,
                "updated_at": moment,
            }
        )
    return rows


async def wants_run_notifications(db: Database, claimed: Any) -> bool:
    """Whether a finished run that emits an event has anyone to notify (cheap: cached per org)."""
    if claimed.is_test:
        return False
    return await has_subscriptions(db, claimed.org_id, claimed.environment)


async def run_deliveries(db: Database, run: Any, event: str, status: str) -> list[dict[str, Any]]:
    """The deliveries of a finished run's `event` (`status`: the run's status as the API names
    it), as rows to write with its end (none when nobody subscribed: cheap, cached per org).
    `run`: a claimed run or an execution row."""
    if not await wants_run_notifications(db, run):
        return []
    async with db.reading() as session:
        account_id = await session.scalar(
            select(LinkedAccount.account_id).where(LinkedAccount.id == run.linked_account_pk)
        )
        if account_id is None:  # deleted with its linked account meanwhile
            return []
        subscribers = await subscribers_of(run.org_id, run.environment, event, session=session)
    fields = {
        "linked_account_id": account_id,
        "workflow_id": run.workflow_id,
        "execution_id": run.id,
        "status": status,
    }
    extra = {"error": run.error} if run.error is not None else None
    return _delivery_rows(subscribers, run.org_id, run.environment, event, fields, extra)


async def notify_run_finished(db: Database, claimed: Any, event: str, status: str) -> int:
    """Queue a finished run's `event`, as its row stands, in a transaction of its own."""
    if not await wants_run_notifications(db, claimed):
        return 0
    async with db.reading() as session:
        execution = await session.get(Execution, claimed.id)
    rows = [] if execution is None else await run_deliveries(db, execution, event, status)
    if rows:
        async with db.transaction() as session:
            await session.execute(insert(_deliveries), rows)
    return len(rows)


async def claim_due_deliveries(
    db: Database, *, limit: int, lease_s: float
) -> list[ClaimedDelivery]:
    """Claim up to `limit` due deliveries for one attempt each, oldest due first."""
    if limit <= 0:
        return []
    moment = now()
    due = (
        select(_deliveries.c.id)
        .where(_deliveries.c.due_at <= moment)
        .order_by(_deliveries.c.due_at)
        .limit(limit)
    )
    due = skipping_taken_rows(due, db)
    claim = (
        update(_deliveries)
        .where(_deliveries.c.id.in_(due.scalar_subquery()))
        .values(
            attempts=_deliveries.c.attempts + 1,
            due_at=moment + timedelta(seconds=lease_s),
            updated_at=moment,
        )
        .returning(
            _deliveries.c.id,
            _deliveries.c.subscription_id,
            _deliveries.c.event,
            _deliveries.c.payload,
            _deliveries.c.attempts,
        )
    )
    async with db.transaction() as session:
        rows = (await session.execute(claim)).all()
        if not rows:
            return []
        targets = {
            sub.id: sub
            for sub in await session.scalars(
                select(NotificationSubscription).where(
                    NotificationSubscription.id.in_({row.subscription_id for row in rows})
                )
            )
        }
    return [
        ClaimedDelivery(
            id=row.id,
            subscription_id=row.subscription_id,
            event=row.event,
            payload=row.payload,
            attempts=row.attempts,
            url=targets[row.subscription_id].url,
            secret_sealed=targets[row.subscription_id].secret_sealed,
            org_id=targets[row.subscription_id].org_id,
        )
        for row in rows
        if row.subscription_id in targets
    ]


def _fenced(delivery: ClaimedDelivery) -> Any:
    return update(_deliveries).where(
        _deliveries.c.id == delivery.id,
        _deliveries.c.attempts == delivery.attempts,
        _deliveries.c.status == PENDING,
    )


async def record_delivered(db: Database, delivery: ClaimedDelivery) -> bool:
    """Mark the delivery delivered; False when the attempt was superseded."""
    return await _write(
        db,
        _fenced(delivery).values(status=DELIVERED, due_at=None, last_error=None, updated_at=now()),
    )


async def record_failed_attempt(
    db: Database, delivery: ClaimedDelivery, *, error: str, retry_at: datetime | None
) -> bool:
    """Schedule the next attempt at `retry_at`, or (None) give up: the delivery failed."""
    values: dict[str, Any] = {"last_error": error[:MAX_ERROR_LENGTH], "updated_at": now()}
    if retry_at is None:
        values.update(status=FAILED, due_at=None)
    else:
        values["due_at"] = retry_at
    return await _write(db, _fenced(delivery).values(**values))


async def release_claims(db: Database, deliveries: list[ClaimedDelivery]) -> None:
    """Hand back claimed attempts that never finished (shutdown), due at once, not counted."""
    moment = now()
    async with db.transaction() as session:
        for delivery in deliveries:
            await session.execute(
                _fenced(delivery).values(
                    attempts=_deliveries.c.attempts - 1, due_at=moment, updated_at=moment
                )
            )


async def prune_finished_deliveries(db: Database, *, older_than: datetime, limit: int) -> int:
    """Delete up to `limit` delivered or failed rows last touched before `older_than`."""
    batch = (
        select(_deliveries.c.id)
        .where(_deliveries.c.due_at.is_(None), _deliveries.c.updated_at < older_than)
        .limit(limit)
    )
    async with db.transaction() as session:
        result = await session.execute(
            delete(_deliveries).where(_deliveries.c.id.in_(batch.scalar_subquery()))
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _write(db: Database, stmt: Any) -> bool:
    async with db.transaction() as session:
        result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]
