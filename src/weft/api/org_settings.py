"""Org settings (org API key): the origins allowed to embed the editor and call from browsers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from weft.api.deps import DbDep, OrgScopeDep
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.tenancy.orgs import MAX_ALLOWED_ORIGINS, allowed_origins_of, set_allowed_origins

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
    async with db.reading() as session:
        origins = await allowed_origins_of(org.org_id, session=session)
    return OrgSettingsOut(org_id=org.org_id, allowed_origins=origins)


@router.put("/org/settings", response_model=OrgSettingsOut, summary="Update org settings")
async def put_org_settings(body: OrgSettingsIn, org: OrgScopeDep, db: DbDep) -> OrgSettingsOut:
    """Replace the given settings; origins are normalised (lower case, no trailing slash)."""
    async with db.transaction() as session:
        if body.allowed_origins is not None:
            await set_allowed_origins(org.org_id, body.allowed_origins, session=session)
        origins = await allowed_origins_of(org.org_id, session=session)
    return OrgSettingsOut(org_id=org.org_id, allowed_origins=origins)
