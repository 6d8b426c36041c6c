"""The app catalog as a linked account sees it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from weft.api.deps import DbDep, ScopeDep
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.apps.catalog import list_apps, resolve_app
from weft.store.tables import App

router = APIRouter(tags=["applications"], responses=ERROR_RESPONSES)


class ApplicationOut(Out):
    id: str = Field(alias="_id")
    slug: str
    name: str
    icon: str | None
    description: str | None
    auth_type: str
    auth_type_options: dict[str, Any]
    connected: bool
    connected_accounts: list[dict[str, Any]]
    reauth_required: bool
    is_default: bool

    @classmethod
    def of(cls, app: App) -> ApplicationOut:
        return cls(
            id=app.id,
            slug=app.slug,
            name=app.name,
            icon=app.icon,
            description=app.description,
            auth_type=app.auth_type,
            auth_type_options={app.auth_type: []} if app.auth_type != "none" else {},
            connected=False,
            connected_accounts=[],
            reauth_required=False,
            is_default=app.is_default,
        )


@router.get("/application", response_model=list[ApplicationOut], summary="List applications")
async def list_applications(scope: ScopeDep, db: DbDep) -> list[ApplicationOut]:
    async with db.reading() as session:
        return [ApplicationOut.of(app) for app in await list_apps(scope.org_id, session=session)]


@router.get("/application/{slug}", response_model=ApplicationOut, summary="One application")
async def get_application(slug: str, scope: ScopeDep, db: DbDep) -> ApplicationOut:
    async with db.reading() as session:
        return ApplicationOut.of(await resolve_app(scope.org_id, slug=slug, session=session))
