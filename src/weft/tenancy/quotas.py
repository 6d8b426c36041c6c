"""Quotas: an org's limits and each linked account's, set by the org, enforced when runs start.

- runs_per_month: reserved by a conditional counter update (`used + n <= limit`) in the
  transaction that queues the runs, so a burst past the limit refuses exactly the runs past it;
- concurrent_runs: the unfinished runs counted in that transaction, after locking the quota
  row (PostgreSQL; SQLite's one writer already serialises starts);
- action_calls_per_day: checked at start against today's metered calls (tenancy.usage): a run
  already going finishes, so a day may end a few calls past the limit;
- steps_per_run: the runner fails a run at the step past it (engine.interpreter.runner).

A refused start raises `QuotaExceeded` (429 `QUOTA_EXCEEDED`) and rolls back: no run, nothing
stored. The org hears `Quota Reached` once per quota and period (`notify_reached`).
Orgs with no quota pay one read per start every `CACHE_S` seconds, no more (`QuotaBook`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import isoformat, now
from weft.errors import WeftError
from weft.store.brief_cache import BriefCache
from weft.store.db import Database
from weft.store.dialects import dialect_of
from weft.store.scope import OrgScope
from weft.store.tables import Execution, LinkedAccount, Quota, QuotaCounter, UsageDaily
from weft.tenancy.accounts import get_linked_account

ORG_WIDE = ""  # the linked_account_pk of the org's own row
CACHE_S = 2.0  # how long a process trusts the quotas it read (a change is seen within this)


@dataclass(frozen=True)
class Limits:
    """One row's limits; None: no limit."""

    runs_per_month: int | None = None
    concurrent_runs: int | None = None
    steps_per_run: int | None = None
    action_calls_per_day: int | None = None

    @classmethod
    def of(cls, row: Quota | None) -> Limits:
        """The limits of a quotas row (none when there is no row)."""
        if row is None:
            return cls()
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    def any(self) -> bool:
        """Whether any limit is set."""
        return any(getattr(self, f.name) is not None for f in fields(self))


QUOTA_NAMES = tuple(f.name for f in fields(Limits))


@dataclass(frozen=True)
class Applicable:
    """The limits a linked account's runs meet: the org's and its own."""

    org: Limits
    account: Limits

    def any(self) -> bool:
        """Whether any limit applies."""
        return self.org.any() or self.account.any()

    def steps_per_run(self) -> int | None:
        """The tighter of the two steps-per-run limits."""
        found = [x for x in (self.org.steps_per_run, self.account.steps_per_run) if x is not None]
        return min(found, default=None)


NO_LIMITS = Applicable(Limits(), Limits())


class QuotaExceeded(WeftError):
    """A start past a quota: says which, its limit and when it resets."""

    status_code = 429
    error_code = "QUOTA_EXCEEDED"

    def __init__(
        self, quota: str, limit: int, *, org: OrgScope, account: LinkedAccount | None
    ) -> None:
        resets = resets_at(quota)
        whose = f"linked account {account.account_id}" if account else "the org"
        when = f"; it resets at {isoformat(resets)}" if resets else ""
        super().__init__(
            f"Quota exceeded: {quota} of {whose} is {limit}{when}",
            details={
                "quota": quota,
                "limit": limit,
                "applies_to": "linked_account" if account else "org",
                "linked_account_id": account.account_id if account else None,
                "resets_at": isoformat(resets) if resets else None,
            },
        )
        # Plain values: the rollback that follows expires the account's row.
        self.org, self.quota = org, quota
        self.owner = account.id if account else ORG_WIDE
        if resets is not None:
            self.headers = {"retry-after": str(max(1, int((resets - now()).total_seconds())))}


def period_of(quota: str, moment: datetime | None = None) -> str:
    """The period a quota counts in: the UTC month, day, or none."""
    moment = moment or now()
    if quota == "runs_per_month":
        return moment.strftime("%Y-%m")
    # Per day; also the others', whose `Quota Reached` is sent at most once a day.
    return moment.strftime("%Y-%m-%d")


def resets_at(quota: str, moment: datetime | None = None) -> datetime | None:
    """When a quota's count starts again from zero (None: when runs end, or per run)."""
    moment = moment or now()
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if quota == "runs_per_month":
        first = midnight.replace(day=1)
        return (first + timedelta(days=32)).replace(day=1)
    if quota == "action_calls_per_day":
        return midnight + timedelta(days=1)
    return None


class QuotaBook:
    """The quotas each account's runs meet, as this process last read them (CACHE_S): an org
    without quotas costs one read per CACHE_S, whatever its number of accounts."""

    def __init__(self) -> None:
        self._orgs = BriefCache(CACHE_S)  # (org, environment) -> whether it has any quota
        self._seen = BriefCache(CACHE_S)  # (org, environment, account) -> Applicable

    async def applicable(
        self,
        db: Database,
        org_id: str,
        environment: str,
        account_pk: str,
        session: AsyncSession | None = None,
    ) -> Applicable:
        """The org's and the account's limits (read when not known for CACHE_S; through
        `session` when given, so a transaction never waits for a second connection)."""
        org = (org_id, environment)
        if not await _known(self._orgs, org, db, session, _org_has_quotas, *org):
            return NO_LIMITS
        key = (org_id, environment, account_pk)
        return await _known(self._seen, key, db, session, read_applicable, *key)

    def forget(self, org_id: str) -> None:
        """The org's quotas changed: read them again (in this process; others within CACHE_S)."""
        for seen in (self._orgs, self._seen):
            seen.forget_where(lambda key: key[0] == org_id)


async def _known(
    cache: BriefCache,
    key: tuple[str, ...],
    db: Database,
    session: AsyncSession | None,
    read: Any,
    *args: Any,
) -> Any:
    """`read(session, *args)` as `cache` remembers it. Without a session, callers that miss
    together share one read on a connection of its own; a caller's own transaction (`session`)
    reads for itself alone."""
    if session is None:

        async def load() -> Any:
            async with db.reading() as reader:
                return await read(reader, *args)

        return await cache.get_or_load(key, load)
    found = cache.get(key)
    if found is None:
        found = await read(session, *args)
        cache.put(key, found)
    return found


async def _org_has_quotas(session: AsyncSession, org_id: str, environment: str) -> bool:
    stmt = select(Quota.org_id).where(Quota.org_id == org_id, Quota.environment == environment)
    return await session.scalar(stmt.limit(1)) is not None


async def read_applicable(
    session: AsyncSession, org_id: str, environment: str, account_pk: str, *, lock: bool = False
) -> Applicable:
    """The org's and the account's quota rows; `lock`: locked until the transaction ends."""
    stmt = (
        select(Quota)
        .where(
            Quota.org_id == org_id,
            Quota.environment == environment,
            Quota.linked_account_pk.in_([ORG_WIDE, account_pk]),
        )
        .order_by(Quota.linked_account_pk)  # the org's row first: one lock order
    )
    rows = {
        row.linked_account_pk: row
        for row in await session.scalars(stmt.with_for_update() if lock else stmt)
    }
    return Applicable(Limits.of(rows.get(ORG_WIDE)), Limits.of(rows.get(account_pk)))


async def reserve(
    session: AsyncSession,
    book: QuotaBook,
    db: Database,
    runs: Sequence[Execution],
    unfinished: Collection[str],
) -> None:
    """Count `runs` (just added in this transaction) against their quotas; raise QuotaExceeded
    (the caller rolls back) when one would pass a limit. `unfinished`: the run statuses that
    count as running (the engine's)."""
    by_account: dict[tuple[str, str, str], int] = {}
    for run in runs:
        key = (run.org_id, run.environment, run.linked_account_pk)
        by_account[key] = by_account.get(key, 0) + 1
    for (org_id, environment, account_pk), count in sorted(by_account.items()):
        if not (await book.applicable(db, org_id, environment, account_pk, session)).any():
            continue
        limits = await read_applicable(session, org_id, environment, account_pk, lock=True)
        org = OrgScope(org_id, environment)
        account = await session.get(LinkedAccount, account_pk)
        for owner, quota_of in ((ORG_WIDE, limits.org), (account_pk, limits.account)):
            whose = account if owner else None
            await _check_concurrent(session, org, owner, quota_of, whose, unfinished)
            await _check_action_calls(session, org, owner, quota_of, whose)
            await _reserve_runs(session, org, owner, quota_of, whose, count)


async def _check_concurrent(
    session: AsyncSession,
    org: OrgScope,
    owner: str,
    limits: Limits,
    whose: Any,
    unfinished: Collection[str],
) -> None:
    if limits.concurrent_runs is None:
        return
    conditions = [
        Execution.org_id == org.org_id,
        Execution.environment == org.environment,
        Execution.status.in_(unfinished),
    ]
    if owner:
        conditions.append(Execution.linked_account_pk == owner)
    running = await session.scalar(select(func.count()).select_from(Execution).where(*conditions))
    if (running or 0) > limits.concurrent_runs:  # the new runs are among them
        raise QuotaExceeded("concurrent_runs", limits.concurrent_runs, org=org, account=whose)


async def _action_calls_today(session: AsyncSession, org: OrgScope, owner: str) -> int:
    """The action calls counted today for the org's environment (for one account: `owner`)."""
    conditions = [
        UsageDaily.org_id == org.org_id,
        UsageDaily.environment == org.environment,
        UsageDaily.day == period_of("action_calls_per_day"),
    ]
    if owner:
        conditions.append(UsageDaily.linked_account_pk == owner)
    used = await session.scalar(select(func.sum(UsageDaily.action_calls)).where(*conditions))
    return int(used or 0)


async def _check_action_calls(
    session: AsyncSession, org: OrgScope, owner: str, limits: Limits, whose: Any
) -> None:
    if limits.action_calls_per_day is None:
        return
    if await _action_calls_today(session, org, owner) >= limits.action_calls_per_day:
        raise QuotaExceeded(
            "action_calls_per_day", limits.action_calls_per_day, org=org, account=whose
        )


async def _reserve_runs(
    session: AsyncSession, org: OrgScope, owner: str, limits: Limits, whose: Any, count: int
) -> None:
    limit = limits.runs_per_month
    if limit is None:
        return
    key = _counter_key(org, owner, "runs_per_month")
    await _ensure_counter(session, key)
    reserved = await session.execute(
        update(QuotaCounter)
        .where(*_counter_match(key), QuotaCounter.used + count <= limit)
        .values(used=QuotaCounter.used + count)
    )
    if not reserved.rowcount:  # type: ignore[attr-defined]
        raise QuotaExceeded("runs_per_month", limit, org=org, account=whose)


def _counter_key(org: OrgScope, owner: str, quota: str) -> dict[str, Any]:
    return {
        "org_id": org.org_id,
        "environment": org.environment,
        "linked_account_pk": owner,
        "quota": quota,
        "period": period_of(quota),
    }


def _counter_match(key: dict[str, Any]) -> list[Any]:
    return [getattr(QuotaCounter, column) == value for column, value in key.items()]


async def _ensure_counter(session: AsyncSession, key: dict[str, Any]) -> None:
    statement = dialect_of(session).insert(QuotaCounter.__table__)
    await session.execute(statement.values(**key, used=0, notified=False).on_conflict_do_nothing())


async def counters(db: Database, org: OrgScope, owner: str) -> dict[str, int]:
    """How much of each counted quota the current period used (runs this month, calls today)."""
    async with db.reading() as session:
        runs = await session.scalar(
            select(QuotaCounter.used).where(
                *_counter_match(_counter_key(org, owner, "runs_per_month"))
            )
        )
        calls = await _action_calls_today(session, org, owner)
    return {"runs_per_month": int(runs or 0), "action_calls_per_day": calls}


async def notify_reached(db: Database, refused: QuotaExceeded, queue_event: Any) -> bool:
    """Tell the org a quota was reached, once per quota and period: whether this call did.
    `queue_event(session, org_id, environment, payload)` queues the notification deliveries."""
    key = _counter_key(refused.org, refused.owner, refused.quota)
    async with db.transaction() as session:
        await _ensure_counter(session, key)
        first = await session.execute(
            update(QuotaCounter)
            .where(*_counter_match(key), QuotaCounter.notified.is_(False))
            .values(notified=True)
        )
        if not first.rowcount:  # type: ignore[attr-defined]
            return False
        await queue_event(
            session,
            refused.org.org_id,
            refused.org.environment,
            {key: value for key, value in refused.details.items()},
        )
    return True


async def quota_owner(session: AsyncSession, org: OrgScope, account_id: str | None) -> str:
    """The quotas row key of the org (no account) or of its linked account (404 if unknown)."""
    if account_id is None:
        return ORG_WIDE
    return (await get_linked_account(org, account_id, session=session)).id


async def read_quotas(db: Database, org: OrgScope, account_id: str | None) -> tuple[Limits, dict]:
    """The limits of the org or one of its accounts, and what this period used of them."""
    async with db.reading() as session:
        owner = await quota_owner(session, org, account_id)
        row = await session.get(Quota, (org.org_id, org.environment, owner))
    return Limits.of(row), await counters(db, org, owner)


async def set_quotas(
    db: Database, book: QuotaBook, org: OrgScope, account_id: str | None, changes: dict[str, Any]
) -> Limits:
    """Change the given limits (None removes one) of the org or one of its accounts."""
    async with db.transaction() as session:
        limits = await save_quotas(org, account_id, changes, session=session)
    book.forget(org.org_id)
    return limits


async def save_quotas(
    org: OrgScope, account_id: str | None, changes: dict[str, Any], *, session: AsyncSession
) -> Limits:
    """Change the given limits of the org or one of its accounts (flushes only)."""
    owner = await quota_owner(session, org, account_id)
    row = await session.get(Quota, (org.org_id, org.environment, owner))
    if row is None:
        row = Quota(org_id=org.org_id, environment=org.environment, linked_account_pk=owner)
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now()
    await session.flush()
    return Limits.of(row)
