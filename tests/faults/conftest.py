"""Fault-suite fixtures: the app, workers and an outside server on a PostgreSQL server of the
suite's own (tests/faults/fault_postgres.py), which the tests may stop, cut off or restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_postgres import FaultPostgres

from engine.sink import Sink
from support import NO_RATE_LIMITS
from weft.settings import Settings


@pytest.fixture(scope="session")
def fault_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPostgres]:
    server = FaultPostgres(tmp_path_factory.mktemp("fault-pg") / "data")
    yield server
    server.cleanup()


@pytest.fixture
def db_url(fault_postgres: FaultPostgres) -> str:
    """A fresh database on the fault server (PostgreSQL only); the app's fixtures follow it."""
    return fault_postgres.new_database()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings without rate limits: the load here is one tenant polling hard on
    purpose (a quiet machine runs it fast enough to pass 1,200 calls a minute)."""
    return settings.model_copy(update=NO_RATE_LIMITS)


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()
