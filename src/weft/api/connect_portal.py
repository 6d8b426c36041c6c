"""`POST /connect-url`: a link to the hosted Connect portal for one linked account (Refold's)."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from weft.api.deps import DbDep, ScopeDep, SettingsDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.tenancy import service
from weft.tenancy.connect_links import MAX_TTL_S, MIN_TTL_S, PORTAL_PATH

router = Router(tags=["connect portal"], responses=ERROR_RESPONSES)

DEFAULT_TTL_S = 900
# `#rgb`, `#rgba`, `#rrggbb` or `#rrggbbaa`: nothing that could leave a CSS declaration.
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


class ConnectUrlIn(BaseModel):
    """Refold's theme (`color`, `bgColor`, `name`), plus which apps to show and for how long."""

    model_config = ConfigDict(populate_by_name=True)

    color: str | None = Field(None, description="Accent colour, `#rrggbb`")
    bg_color: str | None = Field(None, alias="bgColor", description="Page background, `#rrggbb`")
    name: str | None = Field(None, max_length=100, description="Shown as the page's title")
    apps: list[str] | None = Field(
        None, max_length=200, description="Slugs of the apps to offer; default: all the org's"
    )
    expires_in: int | None = Field(
        None,
        description=f"Seconds the link stays valid ({MIN_TTL_S}-{MAX_TTL_S}, default "
        f"{DEFAULT_TTL_S}); it works once",
    )

    @field_validator("color", "bg_color")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not _HEX_COLOR.match(value):
            raise ValueError("must be a hex colour such as #0f766e")
        return value

    @field_validator("apps")
    @classmethod
    def _slugs(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            for slug in value:
                if not _SLUG.match(slug):
                    raise ValueError(f"not an app slug: {slug[:100]!r}")
        return value


class ConnectUrlOut(Out):
    hosted_url: str = Field(description="Open it (or frame it) once; it shows the portal")
    expires_at: datetime = Field(alias="expiresAt")


@router.post(
    "/connect-url",
    response_model=ConnectUrlOut,
    summary="A link to the hosted Connect portal for a linked account",
    description="The org key with `linked_account_id`, or a session token. The link works once "
    "and for `expires_in` seconds; opening it starts a page session of this account only.",
)
async def create_connect_url(
    body: ConnectUrlIn, scope: ScopeDep, db: DbDep, settings: SettingsDep, request: Request
) -> ConnectUrlOut:
    theme = {
        key: value
        for key, value in (("color", body.color), ("bgColor", body.bg_color), ("name", body.name))
        if value
    }
    minted = await service.mint_connect_link(
        db,
        scope,
        theme=theme,
        apps=list(dict.fromkeys(body.apps)) if body.apps is not None else None,
        expires_in=body.expires_in if body.expires_in is not None else DEFAULT_TTL_S,
    )
    # WEFT_PUBLIC_URL when set; else the address the caller reached this server at.
    base = settings.public_url.rstrip("/") if settings.public_url else str(request.base_url)
    return ConnectUrlOut(
        hosted_url=f"{base.rstrip('/')}{PORTAL_PATH}?token={minted.secret}",
        expires_at=minted.expires_at,
    )
