"""What starts a live workflow, kept beside the record so triggers find it with one query."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.nodes import START_TYPE
from weft.store.tables import Schedule, Workflow


def next_tick(cron: str, timezone: str, after: datetime) -> datetime:
    """The first tick of `cron` (in `timezone`) strictly after `after`, as aware UTC."""
    local = after.astimezone(ZoneInfo(timezone))
    return croniter(cron, local).get_next(datetime).astimezone(ZoneInfo("UTC"))


def start_config(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The start node's data (manual trigger when it has none)."""
    start = next((n for n in nodes if n.get("type") == START_TYPE), None)
    return dict((start or {}).get("data") or {"trigger": "manual"})


async def index_triggers(
    workflow: Workflow, nodes: list[dict[str, Any]] | None, *, session: AsyncSession
) -> None:
    """Record the live start trigger (None nodes: the workflow went offline)."""
    await session.execute(delete(Schedule).where(Schedule.workflow_id == workflow.id))
    if nodes is None:
        workflow.trigger = None
        workflow.trigger_event = None
        return
    data = start_config(nodes)
    workflow.trigger = data.get("trigger", "manual")
    workflow.trigger_event = data.get("event") if workflow.trigger == "event" else None
    if workflow.trigger == "webhook" and not workflow.webhook_secret:
        workflow.webhook_secret = secrets.token_urlsafe(24)
    if workflow.trigger == "schedule":
        timezone = data.get("timezone") or "UTC"
        moment = now()
        session.add(
            Schedule(
                workflow_id=workflow.id,
                cron=data["cron"],
                timezone=timezone,
                next_fire_at=next_tick(data["cron"], timezone, moment),
                updated_at=moment,
            )
        )
    await session.flush()
