"""Org settings (org API key): origins allowed to embed the editor, the org's outbound policy,
the failed runs in a row after which a workflow pauses itself."""

from __future__ import annotations

from pydantic import BaseModel, Field

from weft.api.deps import DbDep, OrgScopeDep, SettingsDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.net import OutboundPolicy
from weft.tenancy import service
from weft.tenancy.org_failures import MAX_PAUSE_AFTER, update_pause_after
from weft.tenancy.org_outbound import (
    MAX_OUTBOUND_ENTRIES,
    checked_entries,
    read_outbound_allow,
    update_outbound_allow,
)
from weft.tenancy.orgs import MAX_ALLOWED_ORIGINS

router = Router(tags=["org settings"], responses=ERROR_RESPONSES)

_ORIGINS_HELP = (
    "Origins (`scheme://host[:port]`, no path) allowed to frame the editor "
    "(`Content-Security-Policy: frame-ancestors`) and to call the API from a browser (CORS)."
)
_OUTBOUND_HELP = (
    "Private destinations the org's workflows may reach beyond the server's allow-list: "
    "`host`, `host:port`, `10.0.0.0/8`, `10.0.0.0/8:443`, `[fd00::1]:8080`. Each must lie within "
    "what the server's operator lets orgs open (`WEFT_OUTBOUND_ORG_ALLOW`), else 400 "
    "`OUTBOUND_NOT_PERMITTED`."
)

_PAUSE_HELP = (
    "Failed runs in a row after which a workflow pauses itself (its triggers answer 409 "
    "`WORKFLOW_PAUSED`, schedules and polls stop) until resumed; 0 never pauses. Default 10."
)


class OrgSettingsIn(BaseModel):
    """The settings to replace; a field left out keeps its value."""

    allowed_origins: list[str] | None = Field(
        None, max_length=MAX_ALLOWED_ORIGINS, description=_ORIGINS_HELP
    )
    outbound_allow: list[str] | None = Field(
        None, max_length=MAX_OUTBOUND_ENTRIES, description=_OUTBOUND_HELP
    )
    pause_after_failures: int | None = Field(
        None, ge=0, le=MAX_PAUSE_AFTER, strict=True, description=_PAUSE_HELP
    )


class OrgSettingsOut(Out):
    org_id: str
    allowed_origins: list[str] = Field(description=_ORIGINS_HELP)
    outbound_allow: list[str] = Field(description=_OUTBOUND_HELP)
    pause_after_failures: int = Field(description=_PAUSE_HELP)


@router.get("/org/settings", response_model=OrgSettingsOut, summary="Get org settings")
async def get_org_settings(org: OrgScopeDep, db: DbDep) -> OrgSettingsOut:
    """The org's settings (shared by its environments)."""
    origins = await service.allowed_origins(db, org.org_id)
    outbound = await read_outbound_allow(db, org.org_id)
    pause_after = await update_pause_after(db, org.org_id, None)
    return OrgSettingsOut(
        org_id=org.org_id,
        allowed_origins=origins,
        outbound_allow=outbound,
        pause_after_failures=pause_after,
    )


@router.put("/org/settings", response_model=OrgSettingsOut, summary="Update org settings")
async def put_org_settings(
    body: OrgSettingsIn, org: OrgScopeDep, db: DbDep, settings: SettingsDep
) -> OrgSettingsOut:
    """Replace the given settings; origins are normalised (lower case, no trailing slash)."""
    ceiling = OutboundPolicy.parse(settings.outbound_org_allow)
    if body.outbound_allow is not None:
        checked_entries(body.outbound_allow, ceiling)  # refused before anything changes
    origins = await service.update_allowed_origins(db, org.org_id, body.allowed_origins)
    outbound = await update_outbound_allow(db, org.org_id, body.outbound_allow, ceiling)
    pause_after = await update_pause_after(db, org.org_id, body.pause_after_failures)
    return OrgSettingsOut(
        org_id=org.org_id,
        allowed_origins=origins,
        outbound_allow=outbound,
        pause_after_failures=pause_after,
    )
