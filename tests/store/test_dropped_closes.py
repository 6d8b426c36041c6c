"""Closing a connection the server already dropped (every pooled one after a database restart)
is one warning line, not an error with a traceback: the filter sits on the logger SQLAlchemy's
pool really writes to (its class's own), where a parent logger's filter would never run."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from weft.store.db import Database

pytestmark = pytest.mark.integration


async def test_closing_a_dropped_connection_logs_one_warning_line(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(postgres_url)
    try:
        pool = database.engine.sync_engine.pool
        dropped = OperationalError("close", None, BrokenPipeError(32, "Broken pipe"))
        with caplog.at_level(logging.WARNING):
            # What the pool logs when closing such a connection fails (sqlalchemy.pool.base).
            pool.logger.error("Exception closing connection %r", object(), exc_info=dropped)
        [record] = [r for r in caplog.records if r.name == pool.logger.name]
        assert record.levelno == logging.WARNING
        assert record.getMessage() == (
            "closing a dropped connection: database unavailable (OperationalError)"
        )
        assert record.exc_info is None

        with caplog.at_level(logging.WARNING):
            pool.logger.error("Exception closing connection %r", object(), exc_info=ValueError())
        assert caplog.records[-1].levelno == logging.ERROR  # a real fault keeps its traceback
    finally:
        await database.dispose()
