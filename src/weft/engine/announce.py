"""Telling workers that work was queued: NOTIFY on PostgreSQL, and the in-process event."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from weft.engine.notify import QUEUE_CHANNEL


async def notify_in_transaction(session: AsyncSession) -> None:
    """PostgreSQL delivers NOTIFY at commit, so workers in other processes wake when it lands."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {QUEUE_CHANNEL}"))
