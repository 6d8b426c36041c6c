"""How many PostgreSQL connections one Weft process may hold (`WEFT_DB_CONNECTIONS`), how they
are shared out, and whether a number of processes fits the server's `max_connections`.

A process holds three kinds of connection: SQLAlchemy's pool (with its overflow for bursts),
the group commits' asyncpg pool (store.raw_postgres) and one LISTEN connection
(store.dialects). Each used to be sized on its own (20 + 10 + 4 + 1), so a default `weft serve`
on an 8-core host could ask for more connections than PostgreSQL's default 100, and the
refusals then hit whatever connected last. Here one number bounds them all, and the whole
deployment holds at most processes x budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The LISTEN connection, one batch connection and two pooled ones: below this a process could
# not serve a request while a run commits.
MIN_CONNECTIONS = 4
DEFAULT_CONNECTIONS = 16
LISTEN_CONNECTIONS = 1
# Group commits: one in flight per worker loop, and a process rarely runs more than one loop;
# the default budget keeps the 4 the group commits had before the budget (PostgreSQL's
# five-step throughput at 32-128 callers rests on them).
MAX_BATCH_CONNECTIONS = 4


@dataclass(frozen=True)
class ConnectionBudget:
    """One process's share of PostgreSQL connections, split between its three users."""

    total: int = DEFAULT_CONNECTIONS

    def __post_init__(self) -> None:
        if self.total < MIN_CONNECTIONS:
            raise ValueError(
                f"WEFT_DB_CONNECTIONS must be at least {MIN_CONNECTIONS} (got {self.total})"
            )

    @property
    def batch(self) -> int:
        """Connections of the group commits' asyncpg pool."""
        return max(1, min(MAX_BATCH_CONNECTIONS, self.total // 4))

    @property
    def pooled(self) -> int:
        """SQLAlchemy's share: what is left after LISTEN and the group commits."""
        return self.total - LISTEN_CONNECTIONS - self.batch

    @property
    def pool_overflow(self) -> int:
        """The pool's burst connections (a third of its share; 35 gives the old 20 + 10)."""
        return self.pooled // 3

    @property
    def pool_size(self) -> int:
        """Connections SQLAlchemy's pool keeps open."""
        return self.pooled - self.pool_overflow


@dataclass(frozen=True)
class ServerSlots:
    """The connections a PostgreSQL server lets ordinary roles open."""

    max_connections: int
    reserved: int

    @property
    def available(self) -> int:
        """`max_connections` less the slots kept for superusers (and, on 16+, reserved roles)."""
        return max(0, self.max_connections - self.reserved)


async def server_slots(engine: AsyncEngine) -> ServerSlots:
    """Read the server's connection limits (one short-lived connection)."""
    async with engine.connect() as connection:
        maximum = int((await connection.execute(text("SHOW max_connections"))).scalar_one())
        reserved = int(
            (await connection.execute(text("SHOW superuser_reserved_connections"))).scalar_one()
        )
        found = await connection.execute(
            text("SELECT setting FROM pg_settings WHERE name = 'reserved_connections'")
        )
        reserved += int(found.scalar_one_or_none() or 0)  # PostgreSQL 16+
    return ServerSlots(maximum, reserved)


def processes_allowed(slots: ServerSlots, budget: ConnectionBudget) -> int:
    """How many processes of `budget` connections fit in the server's slots."""
    return slots.available // budget.total


def too_many_processes(processes: int, slots: ServerSlots, budget: ConnectionBudget) -> str:
    """The one-line reason `processes` do not fit (empty when they do)."""
    needed = processes * budget.total
    if needed <= slots.available:
        return ""
    return (
        f"{processes} processes x {budget.total} connections (WEFT_DB_CONNECTIONS) = {needed}, "
        f"but PostgreSQL allows {slots.available} (max_connections {slots.max_connections} "
        f"less {slots.reserved} reserved): lower WEFT_PROCESSES or WEFT_DB_CONNECTIONS, "
        "or raise max_connections"
    )
