"""The audit log: recorded after each successful change made through the API, read by org key."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import Field
from starlette.types import ASGIApp, Receive, Scope, Send

from weft.api.access_log import StatusSent, route_template
from weft.api.deps import DbDep, OrgScopeDep, PageDep, app_state
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out, PageOut
from weft.store.db import log_database_failure
from weft.store.tables import AuditEvent
from weft.tenancy import service
from weft.tenancy.audit import Actor

log = logging.getLogger("weft.audit")
router = Router(tags=["audit"], responses=ERROR_RESPONSES)

_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Runs are recorded by the execution history itself; writing an audit row per run as well
# would double the writes of the hottest routes. Matched by the route's end, or whole for the
# event triggers: `POST /application/event` defines an event, a change like any other.
_RUN_ROUTE_ENDS = ("/execute", "/test", "/run", "/rerun")
_RUN_ROUTES = frozenset({"/api/v2/public/event", "/api/v2/public/event/trigger"})


def _is_run(route: str) -> bool:
    return route.startswith("/hooks/") or route in _RUN_ROUTES or route.endswith(_RUN_ROUTE_ENDS)


class AuditMiddleware:
    """After a successful change (2xx to POST/PUT/PATCH/DELETE), one audit row."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _CHANGES:
            await self.app(scope, receive, send)
            return
        sent = StatusSent(send)
        await self.app(scope, receive, sent)
        status = sent.status
        state = scope.get("state", {})
        actor = state.get("audit_actor")
        route = route_template(scope)
        if not isinstance(actor, Actor) or not 200 <= status < 300 or _is_run(route):
            return
        try:
            await service.record_change(
                app_state(scope["app"]).db,
                actor,
                f"{scope['method']} {route}",
                target={k: str(v) for k, v in (scope.get("path_params") or {}).items()},
                status=status,
                request_id=state.get("request_id"),
            )
        except Exception as error:  # the change stands; a lost audit row is logged, never a 500
            what = f"could not record an audit event for {scope['method']} {route}"
            log_database_failure(log, what, error)


class AuditEventOut(Out):
    id: str = Field(alias="_id")
    actor: str
    linked_account_id: str | None
    action: str
    target: dict[str, Any]
    status: int
    request_id: str | None
    created_at: datetime = Field(alias="createdAt")

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls(
            id=event.id,
            actor=event.actor,
            linked_account_id=event.linked_account_id,
            action=event.action,
            target=event.target,
            status=event.status,
            request_id=event.request_id,
            created_at=event.created_at,
        )


@router.get(
    "/audit-log",
    response_model=PageOut[AuditEventOut],
    summary="The org's audit log (org key), newest first",
)
async def read_audit_log(org: OrgScopeDep, db: DbDep, paging: PageDep) -> PageOut[Any]:
    page = await service.audit_events(db, org, page=paging.page, limit=paging.limit)
    return PageOut.of(page, [AuditEventOut.of(event) for event in page.items])
