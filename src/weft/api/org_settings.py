"""Org settings (org API key): the origins allowed to embed the editor and call from browsers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from weft.api.deps import DbDep, OrgScopeDep
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.tenancy import service
from weft.tenancy.orgs import MAX_ALLOWED_ORIGINS

router = APIRouter(tags=["org settings"], responses=ERROR_RESPONSES)

_ORIGINS_HELP = (
    "Origins (`scheme://host[:port]`, no path) allowed to frame the editor "
    "(`Content-Security-Policy: frame-ancestors`) and to call the API from a browser (CORS)."
)


class OrgSettingsIn(BaseModel):
    """The settings to replace; a field left out keeps its value."""

    allowed_origins: list[str] | None = Field(
        None, max_length=MAX_ALLOWED_ORIGINS, description=_ORIGINS_HELP
    )


class OrgSettingsOut(Out):
    org_id: str
    allowed_origins: list[str] = Field(description=_ORIGINS_HELP)


@router.get("/org/settings", response_model=OrgSettingsOut, summary="Get org settings")
async def get_org_settings(org: OrgScopeDep, db: DbDep) -> OrgSettingsOut:
    """The org's settings (shared by its environments)."""
    origins = await service.allowed_origins(db, org.org_id)
    return OrgSettingsOut(org_id=org.org_id, allowed_origins=origins)


@router.put("/org/settings", response_model=OrgSettingsOut, summary="Update org settings")
async def put_org_settings(body: OrgSettingsIn, org: OrgScopeDep, db: DbDep) -> OrgSettingsOut:
    """Replace the given settings; origins are normalised (lower case, no trailing slash)."""
    origins = await service.update_allowed_origins(db, org.org_id, body.allowed_origins)
    return OrgSettingsOut(org_id=org.org_id, allowed_origins=origins)
