"""An org's limit of failed runs in a row before a workflow pauses itself (org settings).

The engine counts and pauses (engine.runs.failure_streaks); this module keeps the number in
`orgs.settings`: `pause_after_failures`, default 10, 0 never pauses.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import InvalidInput
from weft.store.db import Database
from weft.store.tables import Org
from weft.tenancy.orgs import get_org

DEFAULT_PAUSE_AFTER = 10
MAX_PAUSE_AFTER = 10_000
SETTING_KEY = "pause_after_failures"


def pause_after_from(settings: dict[str, Any] | None) -> int:
    """The org's limit (0: never pause) held in its settings JSON; the default when unset."""
    value = (settings or {}).get(SETTING_KEY)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return DEFAULT_PAUSE_AFTER


def checked_pause_after(value: int) -> int:
    """`value` if it is a usable limit; 400 otherwise."""
    if isinstance(value, bool) or not 0 <= value <= MAX_PAUSE_AFTER:
        raise InvalidInput(
            f"pause_after_failures must be 0 (never pause) to {MAX_PAUSE_AFTER}",
            error_code="INVALID_PAUSE_AFTER",
        )
    return value


async def pause_after_of(org_id: str, *, session: AsyncSession) -> int:
    """The org's limit as stored."""
    return pause_after_from(await session.scalar(select(Org.settings).where(Org.id == org_id)))


async def set_pause_after(org_id: str, value: int, *, session: AsyncSession) -> int:
    """Replace the org's limit; returns it."""
    checked = checked_pause_after(value)
    org = await get_org(org_id, session=session)
    # A new dict: SQLAlchemy does not see in-place changes to a JSON column.
    org.settings = {**(org.settings or {}), SETTING_KEY: checked}
    org.updated_at = now()
    await session.flush()
    return checked


async def read_pause_after(db: Database, org_id: str) -> int:
    """The org's limit (a read transaction of its own)."""
    async with db.reading() as session:
        return await pause_after_of(org_id, session=session)


async def update_pause_after(db: Database, org_id: str, value: int | None) -> int:
    """Set the limit when `value` is given; the limit either way."""
    if value is None:
        return await read_pause_after(db, org_id)
    async with db.transaction() as session:
        return await set_pause_after(org_id, value, session=session)
