"""Cron schedules: each due tick fires exactly once, however many workers run the scheduler.

Missed ticks (the service was down) are coalesced: the schedule fires once for the latest
missed tick, then continues from the next tick after now. Exactly-once holds twice over: the
due rows are locked while one scheduler advances them (SKIP LOCKED on PostgreSQL; SQLite takes
the write lock at BEGIN), and each tick's execution carries the idempotency key
`schedule:<workflow>:<tick>`, which the database keeps unique per linked account (the workflow
is in the key: two workflows of one account often share a tick).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from weft.clock import isoformat, now
from weft.engine.runs import lifecycle
from weft.engine.starts.periodic import Periodic
from weft.engine.starts.trigger_output import schedule_output
from weft.engine.starts.triggers import new_execution
from weft.engine.workers.services import Services
from weft.engine.workers.wakeups import wake_workers_in_transaction
from weft.store.db import skipping_taken_rows
from weft.store.scope import account_scope
from weft.store.tables import LinkedAccount, Schedule, Workflow
from weft.tenancy.quotas import QuotaExceeded
from weft.workflows.trigger_index import next_tick

log = logging.getLogger("weft.scheduler")


class Scheduler(Periodic):
    """Fires due schedules once a second (engine.runs.retention prunes old runs beside it)."""

    log = log
    failure = "scheduler tick failed"

    async def round(self) -> None:
        try:
            if await fire_due_schedules(self.services):
                self.services.wakeups.work_queued()
        except IntegrityError:
            pass  # another scheduler fired the same tick first


def schedule_key(workflow_id: str, tick: datetime) -> str:
    """The idempotency key of one workflow's run for one tick."""
    return f"schedule:{workflow_id}:{isoformat(tick)}"


async def fire_due_schedules(services: Services, limit: int = 100) -> int:
    """Queue one execution per due schedule and advance it; returns how many fired."""
    db = services.db
    moment = now()
    stmt = (
        select(Schedule, Workflow, LinkedAccount)
        .join(Workflow, Workflow.id == Schedule.workflow_id)
        .join(LinkedAccount, LinkedAccount.id == Workflow.linked_account_pk)
        .where(Schedule.next_fire_at <= moment)
        .order_by(Schedule.next_fire_at)
        .limit(limit)
    )
    stmt = skipping_taken_rows(stmt, db, of=Schedule)
    fired = 0
    refused: list[QuotaExceeded] = []
    async with db.transaction() as session:
        for schedule, workflow, account in (await session.execute(stmt)).all():
            tick = schedule.next_fire_at
            # A paused workflow's ticks pass unfired; on resume it fires from the next one.
            if workflow.published and workflow.paused_at is None:
                run = new_execution(
                    account_scope(account),
                    workflow,
                    trigger="schedule",
                    payload=schedule_output(tick),
                    key=schedule_key(workflow.id, tick),
                )
                try:
                    await lifecycle.add_within_quotas(services, session, run)
                    fired += 1
                except QuotaExceeded as past:  # this tick is skipped; the schedule goes on
                    refused.append(past)
            schedule.next_fire_at = next_tick(schedule.cron, schedule.timezone, max(tick, moment))
            schedule.updated_at = moment
        if fired:
            await wake_workers_in_transaction(session)
    for past in refused:
        await lifecycle.quota_refused(services, past)
    return fired
