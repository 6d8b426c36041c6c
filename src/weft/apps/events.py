"""Event definitions an org declares for its apps (Refold's `POST /application/event`)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_app
from weft.apps.json_schema import parse_event_schema
from weft.clock import now
from weft.errors import InvalidInput
from weft.ids import new_id
from weft.store.tables import AppEvent
from weft.workflows.live_cache import LIVE_STARTS


def parse_sample(response: Any) -> Any:
    """Refold sends the sample payload as a JSON string; a value is taken as it is."""
    if isinstance(response, str):
        try:
            return json.loads(response)
        except json.JSONDecodeError:
            raise InvalidInput("response must be JSON (the event's sample payload)") from None
    return response


async def save_event(
    org_id: str,
    name: str,
    *,
    slug: str | None,
    sample: Any,
    json_schema: Any,
    session: AsyncSession,
) -> AppEvent:
    """Create or replace the event `name` of app `slug` (default: the org's own app)."""
    app = await resolve_app(org_id, slug=slug, session=session)
    moment = now()
    row = await session.scalar(
        select(AppEvent).where(
            AppEvent.org_id == org_id, AppEvent.app_slug == app.slug, AppEvent.name == name
        )
    )
    if row is None:
        row = AppEvent(id=new_id(), org_id=org_id, app_slug=app.slug, name=name, created_at=moment)
        session.add(row)
    row.sample = parse_sample(sample)
    row.json_schema = parse_event_schema(json_schema)
    row.updated_at = moment
    await session.flush()
    LIVE_STARTS.forget_all()  # its schema checks events' payloads
    return row


async def list_events(org_id: str, slug: str, *, session: AsyncSession) -> list[AppEvent]:
    """The events the org defined for app `slug`, by name."""
    rows = await session.scalars(
        select(AppEvent)
        .where(AppEvent.org_id == org_id, AppEvent.app_slug == slug)
        .order_by(AppEvent.name)
    )
    return list(rows)
