"""Reading what an org's runs used (usage_daily, written with each run's end by the engine).

One row per (day, linked account, workflow); a report groups them by account, day or workflow
between two days (inclusive, UTC) for the org's environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import func, select

from weft.errors import InvalidInput
from weft.store.db import Database
from weft.store.scope import OrgScope
from weft.store.tables import USAGE_COUNTS, LinkedAccount, UsageDaily
from weft.tenancy.accounts import get_linked_account

GroupBy = Literal["account", "day", "workflow"]
MAX_DAYS = 366


@dataclass(frozen=True)
class UsageFilter:
    """Which usage to report: days `since`..`until` (inclusive), one account or workflow."""

    since: date
    until: date
    account_id: str | None = None
    workflow_id: str | None = None

    def check(self) -> None:
        """400 for a range that is backwards or longer than a year."""
        if self.until < self.since:
            raise InvalidInput("`to` is before `from`", error_code="INVALID_INPUT")
        if (self.until - self.since).days >= MAX_DAYS:
            raise InvalidInput(f"A usage report spans at most {MAX_DAYS} days")


async def usage_report(
    db: Database, org: OrgScope, wanted: UsageFilter, group_by: GroupBy
) -> list[dict[str, Any]]:
    """The counts per account, day or workflow, in that key's order (accounts by their id)."""
    wanted.check()
    table = UsageDaily
    conditions = [
        table.org_id == org.org_id,
        table.environment == org.environment,
        table.day >= wanted.since.isoformat(),
        table.day <= wanted.until.isoformat(),
    ]
    sums = [func.sum(getattr(table, count)).label(count) for count in USAGE_COUNTS]
    async with db.reading() as session:
        if wanted.account_id is not None:
            account = await get_linked_account(org, wanted.account_id, session=session)
            conditions.append(table.linked_account_pk == account.id)
        if wanted.workflow_id is not None:
            conditions.append(table.workflow_id == wanted.workflow_id)
        if group_by == "account":
            key = LinkedAccount.account_id.label("linked_account_id")
            stmt = select(key, *sums).join(
                LinkedAccount, LinkedAccount.id == table.linked_account_pk
            )
        else:
            column = table.day if group_by == "day" else table.workflow_id
            key = column.label("day" if group_by == "day" else "workflow_id")
            stmt = select(key, *sums)
        stmt = stmt.where(*conditions).group_by(key).order_by(key)
        rows = (await session.execute(stmt)).all()
    return [
        {**row._asdict(), **{c: int(getattr(row, c) or 0) for c in USAGE_COUNTS}} for row in rows
    ]


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The counts of a report's rows added up."""
    return {count: sum(row[count] for row in rows) for count in USAGE_COUNTS}
