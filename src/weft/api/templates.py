"""Templates: the org marks published public workflows as templates (org key); linked accounts
list them and start a private workflow from one (docs/templates.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Path, Query, Response
from pydantic import BaseModel, Field

from weft.api.deps import DbDep, OrgScopeDep, ScopeDep, WorkflowScopeDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, ErrorOut, Out
from weft.api.workflows import CreatedOut, DraftOut
from weft.apps import templates
from weft.apps.templates import KEY_PATTERN, TemplateSpec
from weft.store.tables import WorkflowTemplate

router = Router(tags=["templates"], responses=ERROR_RESPONSES)
CONFLICT = {
    409: {
        "model": ErrorOut,
        "description": "TEMPLATE_EXISTS, TEMPLATE_NOT_PUBLISHED (publish the source first), "
        "TOO_MANY_TEMPLATES",
    }
}

KeyPath = Annotated[str, Path(max_length=100, description="The template's key")]


class TemplateFields(BaseModel):
    workflow_id: str | None = Field(
        None, max_length=100, description="A public workflow of the org (org key alone)"
    )
    version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="Its published version; default: the live one"
    )
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    category: str | None = Field(None, max_length=100)
    icon: str | None = Field(
        None, max_length=100, description="An app slug (its icon), or up to 4 characters"
    )
    required_apps: list[str] | None = Field(None, max_length=20, description="App slugs")
    inputs: dict[str, Any] | None = Field(
        None,
        description="JSON Schema (type object) of what a host may inject; each property's "
        "`x-weft-targets: [{node, path}]` says where in the graph its value goes",
    )

    def spec(self) -> TemplateSpec:
        sent = set(self.model_fields_set) - {"key"}
        values = {name: getattr(self, name) for name in TemplateFields.model_fields}
        return TemplateSpec(**values, sent=sent)


class TemplateCreate(TemplateFields):
    key: str = Field(pattern=KEY_PATTERN, description="Stable key, unique in the environment")
    workflow_id: str = Field(max_length=100)  # type: ignore[assignment]
    name: str = Field(min_length=1, max_length=200)  # type: ignore[assignment]


class TemplateOut(Out):
    id: str = Field(alias="_id")
    key: str
    name: str
    description: str
    category: str
    icon: str | None
    required_apps: list[str]
    inputs: dict[str, Any] = Field(description="JSON Schema of the inputs a host may inject")
    workflow_id: str = Field(description="The public workflow whose version this is")
    version: int
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")

    @classmethod
    def of(cls, row: WorkflowTemplate) -> TemplateOut:
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            description=row.description,
            category=row.category,
            icon=row.icon,
            required_apps=list(row.required_apps or []),
            inputs=dict(row.inputs or {}),
            workflow_id=row.workflow_id,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class TemplatesOut(BaseModel):
    templates: list[TemplateOut]
    categories: list[str] = Field(description="Every category, for a gallery's filter")


class FromTemplate(BaseModel):
    template: str = Field(max_length=100, description="The template's key")
    inputs: dict[str, Any] | None = Field(None, description="Values its `inputs` schema takes")
    name: str | None = Field(None, min_length=1, max_length=200, description="Default: its name")


@router.post("/template", response_model=TemplateOut, summary="Mark template", responses=CONFLICT)
async def create_template(scope: OrgScopeDep, db: DbDep, body: TemplateCreate) -> TemplateOut:
    """Offer a published version of a public workflow to linked accounts as template `key`."""
    return TemplateOut.of(await templates.create_template(db, scope, body.key, body.spec()))


@router.get("/template", response_model=TemplatesOut, summary="List templates")
async def list_templates(
    scope: WorkflowScopeDep,
    db: DbDep,
    q: str | None = Query(None, max_length=200, description="Name, description or category"),
    category: str | None = Query(None, max_length=100),
) -> TemplatesOut:
    """The org's templates (org key, or a linked account's token), by category and name."""
    rows = await templates.list_templates(db, scope, query=q, category=category)
    every = await templates.list_templates(db, scope, query=None, category=None)
    return TemplatesOut(
        templates=[TemplateOut.of(r) for r in rows],
        categories=sorted({r.category for r in every if r.category}),
    )


@router.get("/template/{key}", response_model=TemplateOut, summary="One template")
async def get_template(key: KeyPath, scope: WorkflowScopeDep, db: DbDep) -> TemplateOut:
    return TemplateOut.of(await templates.get_template(db, scope, key))


@router.patch(
    "/template/{key}", response_model=TemplateOut, summary="Change a template", responses=CONFLICT
)
async def update_template(
    key: KeyPath, scope: OrgScopeDep, db: DbDep, body: Annotated[TemplateFields, Body()]
) -> TemplateOut:
    """Change the fields sent; sending `workflow_id` or `version` pins another version."""
    return TemplateOut.of(await templates.update_template(db, scope, key, body.spec()))


@router.delete("/template/{key}", status_code=204, summary="Remove a template")
async def delete_template(key: KeyPath, scope: OrgScopeDep, db: DbDep) -> Response:
    """Workflows started from it stay: they are the accounts' own."""
    await templates.delete_template(db, scope, key)
    return Response(status_code=204)


@router.post(
    "/workflow/from-template",
    response_model=CreatedOut,
    summary="Create private workflow from a template",
)
async def start_from_template(scope: ScopeDep, db: DbDep, body: FromTemplate) -> CreatedOut:
    """A new private workflow of the linked account: the template's graph, with `inputs` where
    the template declares them. Its apps the account has not connected are draft problems."""
    workflow, draft = await templates.start_from_template(
        db, scope, body.template, inputs=body.inputs, name=body.name
    )
    return CreatedOut(workflow=await DraftOut.of(db, scope, workflow, draft))
