"""The claim statement; the one part of it that differs by database is the dialect's.

One statement claims a batch: it picks due rows a worker may start (their statuses come from
the transition table), gives each linked account slots up to its concurrency limit counting what
it already runs, and orders by slot so claims go round-robin across linked accounts. It also
returns when each claimed run was due (`was_due`, for the claim-latency metric): the candidates
are materialised once, before the update moves `due_at` to the lease's end.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import TextClause, bindparam, text

from weft.engine.runs import states
from weft.store.dialects import Dialect
from weft.store.tables import Execution

CLAIM_COLUMNS = (
    "id, org_id, environment, linked_account_pk, workflow_id, version, is_test, trigger, "
    "input, attempt, created_at, parent_execution_id, config"
)

# Queued and waiting runs when due; running ones when their lease expired (a dead worker's).
_CLAIMABLE = ", ".join(f"'{status}'" for status in states.sources_of(states.RUNNING))

_RANKED = f"""
running AS (
    SELECT linked_account_pk, count(*) AS n FROM executions
    WHERE due_at > :now AND status = '{states.RUNNING}' GROUP BY linked_account_pk
),
ranked AS (
    SELECT c.id, c.due_at,
           row_number() OVER (PARTITION BY c.linked_account_pk ORDER BY c.due_at, c.id)
             + coalesce(r.n, 0) AS slot
    FROM candidates c LEFT JOIN running r ON r.linked_account_pk = c.linked_account_pk
),
chosen AS (
    SELECT id FROM ranked WHERE slot <= :per_account ORDER BY slot, due_at LIMIT :n
)
"""

_SET_CLAIMED = (
    f"SET status = '{states.RUNNING}', lease_owner = :me, due_at = :lease_until, "
    "attempt = attempt + 1, started_at = coalesce(started_at, :now), updated_at = :now"
)

_CANDIDATES = (
    "SELECT id, linked_account_pk, due_at FROM executions "
    f"WHERE due_at <= :now AND status IN ({_CLAIMABLE}) ORDER BY due_at LIMIT :scan"
)


def claim_text(dialect: Dialect) -> str:
    """The claim statement's SQL on `dialect` (concurrent claimers skip each other's rows)."""
    return (
        f"WITH candidates AS MATERIALIZED ({dialect.skip_locked(_CANDIDATES)}), "
        + _RANKED
        + f"UPDATE executions {_SET_CLAIMED} WHERE id IN (SELECT id FROM chosen) "
        f"RETURNING {CLAIM_COLUMNS}, "
        "(SELECT c.due_at FROM candidates c WHERE c.id = executions.id) AS was_due"
    )


@cache
def claim_statement(dialect: Dialect) -> TextClause:
    """The claim statement on `dialect`, made once: typed bind parameters and result columns,
    so dates and JSON convert as through the ORM."""
    columns = Execution.__table__.c
    return (
        text(claim_text(dialect))
        .bindparams(
            bindparam("now", type_=columns.due_at.type),
            bindparam("lease_until", type_=columns.due_at.type),
        )
        .columns(
            *(columns[name.strip()] for name in CLAIM_COLUMNS.split(",")),
            was_due=columns.due_at.type,
        )
    )
