"""The rows of one model a block of code inserted through a session (whatever code added them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

M = TypeVar("M")


@contextmanager
def new_rows(session: AsyncSession, model: type[M]) -> Iterator[list[M]]:
    """A list that fills with the `model` objects flushed as new inside the block (rows found
    again, such as an idempotent retry's, are not new). Flush before the block ends."""
    added: list[M] = []

    def collect(flushing: Any, _context: Any) -> None:
        # after_flush still sees the objects as they were before it: `new` holds the inserted.
        added.extend(row for row in flushing.new if isinstance(row, model))

    sync = session.sync_session
    event.listen(sync, "after_flush", collect)
    try:
        yield added
    finally:
        event.remove(sync, "after_flush", collect)
