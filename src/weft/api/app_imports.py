"""POST /application/import: an org's app from an OpenAPI document (given, or at a URL)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from weft.api.deps import DbDep, OrgScopeDep, ServicesDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES
from weft.apps import imports

IMPORT_PATH = "/application/import"
router = Router(tags=["applications"], responses=ERROR_RESPONSES)


class ImportIn(BaseModel):
    """The document itself (a parsed object, or JSON/YAML text) or a URL to fetch it from."""

    document: dict[str, Any] | str | None = Field(
        None, description="The OpenAPI 3.0/3.1 document: an object, or its JSON or YAML text"
    )
    url: str | None = Field(
        None,
        max_length=2048,
        description="Fetch the document from here (through the outbound guard: no private "
        "addresses)",
    )
    slug: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$",
        description="The app's slug; default: from the document's title. Re-import with the "
        "same slug to update the app",
    )
    # An empty name would pass here and fail deep in the derivation (a 500).
    operations: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, max_length=1000, description="Only these operations (operationId or `METHOD /path`)"
    )
    tags: list[str] | None = Field(
        None, max_length=100, description="Only operations with one of these tags"
    )

    @model_validator(mode="after")
    def _one_source(self) -> ImportIn:
        if (self.document is None) == (self.url is None):
            raise ValueError("give exactly one of document and url")
        return self


class ImportOut(BaseModel):
    """What the import did; re-imports name what changed and the live workflows it touches."""

    slug: str
    actions: list[str]
    added: list[str]
    changed: list[str]
    removed: list[str]
    deprecated: list[str] = Field(
        description="Removed from the document but kept: a published workflow still uses them"
    )
    affected_workflows: list[dict[str, Any]] = Field(
        description="Published workflows whose live version calls a changed or removed action"
    )
    warnings: list[str] = Field(description="What the document holds that was not imported")


@router.post(
    IMPORT_PATH,
    response_model=ImportOut,
    summary="Import an app from an OpenAPI document (org key)",
    description="Derives an app (actions, connection form, base URL) from an OpenAPI 3.0 or "
    "3.1 document and saves it as one of the org's apps. The document is validated first; an "
    "invalid one answers 400 `INVALID_OPENAPI` naming the problem. Body up to 10 MB.",
)
async def import_application(
    body: ImportIn, org: OrgScopeDep, db: DbDep, services: ServicesDep
) -> ImportOut:
    outcome = await imports.import_app(
        db,
        org.org_id,
        body.document,
        url=body.url,
        policy=services.outbound.policy,
        slug=body.slug,
        operations=body.operations,
        tags=body.tags,
    )
    return ImportOut(**outcome.as_dict())
