"""Usage and quotas (org API key): what runs used, for billing, and the limits runs meet."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from weft.api.deps import DbDep, OrgScopeDep, ServicesDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.clock import now
from weft.store.tables import USAGE_COUNTS
from weft.tenancy import quotas
from weft.tenancy.usage import GroupBy, UsageFilter, totals, usage_report

router = Router(tags=["usage and quotas"], responses=ERROR_RESPONSES)

_KEYS = {"account": "linked_account_id", "day": "day", "workflow": "workflow_id"}
_COUNTS_HELP = (
    "runs: runs that ended; steps: their steps; action_calls: app calls (app actions, http "
    "steps with a connection, ai steps; one per attempt); code_ms: time spent in code steps."
)


class UsageRow(BaseModel):
    linked_account_id: str | None = None
    day: str | None = None
    workflow_id: str | None = None
    runs: int
    steps: int
    action_calls: int
    code_ms: int


class UsageOut(Out):
    from_: date = Field(alias="from")
    to: date
    group_by: GroupBy
    usage: list[UsageRow] = Field(description=_COUNTS_HELP)
    total: dict[str, int]


@router.get(
    "/usage",
    response_model=UsageOut,
    summary="Usage by linked account, day or workflow",
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_usage(
    request: Request,
    org: OrgScopeDep,
    db: DbDep,
    from_: Annotated[date | None, Query(alias="from", description="First day (UTC)")] = None,
    to: Annotated[date | None, Query(description="Last day (UTC), inclusive")] = None,
    linked_account_id: Annotated[str | None, Query(max_length=200)] = None,
    workflow: Annotated[str | None, Query(max_length=24)] = None,
    group_by: GroupBy = "account",
    format: Literal["json", "csv"] | None = None,
) -> UsageOut | Response:
    """What the org's runs used per day in this environment, grouped; `format=csv` (or
    `Accept: text/csv`) answers CSV for billing. Default range: this month so far."""
    until = to or now().date()
    since = from_ or until.replace(day=1)
    wanted = UsageFilter(since, until, linked_account_id, workflow)
    rows = await usage_report(db, org, wanted, group_by)
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        return _csv(rows, group_by, since, until)
    return UsageOut(
        from_=since,
        to=until,
        group_by=group_by,
        usage=[UsageRow(**row) for row in rows],
        total=totals(rows),
    )


def _csv(rows: list[dict], group_by: GroupBy, since: date, until: date) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    key = _KEYS[group_by]
    writer.writerow([key, *USAGE_COUNTS])
    for row in rows:
        writer.writerow([_cell(row[key]), *(row[count] for count in USAGE_COUNTS)])
    name = f"weft-usage-{group_by}-{since}-{until}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _cell(value: str) -> str:
    # A linked account id is the host's text: never let a spreadsheet read it as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class QuotasIn(BaseModel):
    """The limits to change; a field left out keeps its value, null removes the limit."""

    runs_per_month: int | None = Field(None, ge=0, le=10**12)
    concurrent_runs: int | None = Field(None, ge=0, le=10**6)
    steps_per_run: int | None = Field(None, ge=1, le=10**6)
    action_calls_per_day: int | None = Field(None, ge=0, le=10**12)


class QuotasOut(Out):
    linked_account_id: str | None = Field(description="The account, or null for the org's own")
    runs_per_month: int | None
    concurrent_runs: int | None
    steps_per_run: int | None
    action_calls_per_day: int | None
    used: dict[str, int] = Field(description="Runs started this month, action calls today (UTC)")


_ACCOUNT = Query(max_length=200, description="A linked account's quotas; none: the org's")


@router.get("/quotas", response_model=QuotasOut, summary="Get quotas")
async def get_quotas(
    org: OrgScopeDep, db: DbDep, linked_account_id: Annotated[str | None, _ACCOUNT] = None
) -> QuotasOut:
    """The org's limits (or a linked account's) and what this period used of them."""
    limits, used = await quotas.read_quotas(db, org, linked_account_id)
    return QuotasOut(linked_account_id=linked_account_id, used=used, **vars(limits))


@router.put("/quotas", response_model=QuotasOut, summary="Set quotas")
async def put_quotas(
    body: QuotasIn,
    org: OrgScopeDep,
    db: DbDep,
    services: ServicesDep,
    linked_account_id: Annotated[str | None, _ACCOUNT] = None,
) -> QuotasOut:
    """Set the org's limits (or a linked account's); both apply to each run."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    await quotas.set_quotas(db, services.quotas, org, linked_account_id, changes)
    limits, used = await quotas.read_quotas(db, org, linked_account_id)
    return QuotasOut(linked_account_id=linked_account_id, used=used, **vars(limits))
