"""One number bounds a process's PostgreSQL connections (WEFT_DB_CONNECTIONS), and a server
with no slot left, or a pool with no connection free, is an outage, not a failed run."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from weft.store.budget import ConnectionBudget, ServerSlots, processes_allowed, too_many_processes
from weft.store.db import Database, is_database_unavailable

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("total", "pool", "overflow", "batch"),
    [(4, 2, 0, 1), (16, 8, 3, 4), (35, 20, 10, 4), (100, 64, 31, 4)],
)
def test_a_budget_is_shared_out_without_exceeding_it(
    total: int, pool: int, overflow: int, batch: int
) -> None:
    budget = ConnectionBudget(total)

    assert (budget.pool_size, budget.pool_overflow, budget.batch) == (pool, overflow, batch)
    assert budget.pool_size + budget.pool_overflow + budget.batch + 1 == total  # + LISTEN


def test_a_budget_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        ConnectionBudget(3)


def test_the_postgres_pools_are_sized_from_the_budget() -> None:
    db = Database("postgresql+asyncpg://weft@127.0.0.1:1/none", connections=12)

    assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (6, 2)  # type: ignore[attr-defined]
    assert db.raw._size == 3


def test_processes_that_do_not_fit_are_named_with_the_numbers() -> None:
    slots = ServerSlots(max_connections=100, reserved=3)
    budget = ConnectionBudget(16)

    assert processes_allowed(slots, budget) == 6
    assert too_many_processes(6, slots, budget) == ""
    assert too_many_processes(8, slots, budget).startswith(
        "8 processes x 16 connections (WEFT_DB_CONNECTIONS) = 128, but PostgreSQL allows 97"
    )


def test_too_many_clients_and_an_exhausted_pool_are_outages() -> None:
    refused = asyncpg.TooManyConnectionsError("sorry, too many clients already")

    assert is_database_unavailable(refused)
    assert is_database_unavailable(DBAPIError("connect", None, refused))
    assert is_database_unavailable(PoolTimeout("QueuePool limit of size 9 overflow 4 reached"))
    assert not is_database_unavailable(DBAPIError("select", None, ValueError("a real error")))
