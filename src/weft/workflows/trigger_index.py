"""What starts a live workflow, kept beside the record so triggers find it with one query."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.ids import new_id
from weft.nodes import START_TYPE
from weft.store.tables import AppTrigger, Schedule, Workflow


def next_tick(cron: str, timezone: str, after: datetime) -> datetime:
    """The first tick of `cron` (in `timezone`) strictly after `after`, as aware UTC."""
    local = after.astimezone(ZoneInfo(timezone))
    return croniter(cron, local).get_next(datetime).astimezone(ZoneInfo("UTC"))


def start_config(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The start node's data (manual trigger when it has none)."""
    start = next((n for n in nodes if n.get("type") == START_TYPE), None)
    return dict((start or {}).get("data") or {"trigger": "manual"})


def ensure_webhook_secret(workflow: Workflow, nodes: list[dict[str, Any]]) -> None:
    """Give the workflow its webhook secret once a start node (live or draft) needs a URL.

    A draft gets it too, so the editor shows the URL before the first publish; the URL only
    starts runs once a version with that trigger is live (service.live_webhook checks).
    """
    if start_config(nodes).get("trigger") in ("webhook", "app") and not workflow.webhook_secret:
        workflow.webhook_secret = secrets.token_urlsafe(24)


def webhook_path(workflow: Workflow, trigger: str | None) -> str | None:
    """Where `trigger`'s requests go for this workflow: `/hooks/{secret}` for a webhook,
    `/hooks/app/{secret}` for an app trigger's deliveries; None without a URL."""
    if not workflow.webhook_secret:
        return None
    if trigger == "webhook":
        return f"/hooks/{workflow.webhook_secret}"
    if trigger == "app":
        return f"/hooks/app/{workflow.webhook_secret}"
    return None


async def index_triggers(
    workflow: Workflow, nodes: list[dict[str, Any]] | None, *, session: AsyncSession
) -> None:
    """Record the live start trigger (None nodes: the workflow went offline)."""
    await session.execute(delete(Schedule).where(Schedule.workflow_id == workflow.id))
    if nodes is None:
        workflow.trigger = None
        workflow.trigger_event = None
        await index_app_trigger(workflow, None, session=session)
        return
    data = start_config(nodes)
    await index_app_trigger(
        workflow, data if data.get("trigger") == "app" else None, session=session
    )
    workflow.trigger = data.get("trigger", "manual")
    workflow.trigger_event = data.get("event") if workflow.trigger == "event" else None
    # An app trigger's webhook URL carries the same secret (api.app_hooks).
    ensure_webhook_secret(workflow, nodes)
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


async def index_app_trigger(
    workflow: Workflow, data: dict[str, Any] | None, *, session: AsyncSession
) -> None:
    """Keep the workflow's `app_triggers` row in step with its live start node (None: none).

    The same app, trigger and parameters keep their row (a poll's cursor, a webhook's
    subscription); anything else stops the old row and starts a new one. Starting and stopping
    at the app (subscribe, unsubscribe) is the engine's worker's job (engine.starts.app_triggers),
    outside this transaction, so publishing never waits on an app's API.
    """
    current = await session.scalar(select(AppTrigger).where(AppTrigger.workflow_id == workflow.id))
    wanted = None
    if data is not None and workflow.linked_account_pk is not None:
        wanted = (
            str(data.get("app")),
            str(data.get("app_trigger")),
            dict(data.get("params") or {}),
        )
    if current is not None:
        if wanted == (current.app, current.trigger, current.params):
            return
        stop_app_trigger(current)
    if wanted is None:
        await session.flush()
        return
    moment = now()
    session.add(
        AppTrigger(
            id=new_id(),
            workflow_id=workflow.id,
            org_id=workflow.org_id,
            environment=workflow.environment,
            linked_account_pk=workflow.linked_account_pk,
            app=wanted[0],
            trigger=wanted[1],
            params=wanted[2],
            status="starting",
            state={},
            due_at=moment,
            created_at=moment,
            updated_at=moment,
        )
    )
    await session.flush()


def stop_app_trigger(row: AppTrigger) -> None:
    """Let the row go of its workflow and leave it to the worker to unsubscribe and delete.

    A poller holding it finds it stopped at its fenced write and starts nothing."""
    row.workflow_id = None
    row.status = "stopping"
    row.updated_at = now()
    if row.lease_owner is None:
        row.due_at = row.updated_at


async def stop_workflow_app_trigger(workflow_id: str, *, session: AsyncSession) -> None:
    """Stop the app trigger of a workflow about to be deleted, if it has one."""
    row = await session.scalar(select(AppTrigger).where(AppTrigger.workflow_id == workflow_id))
    if row is not None:
        stop_app_trigger(row)
        await session.flush()
