"""Workflow templates: the org offers published versions of its public workflows, and a linked
account starts a private workflow of its own from one (issue #25, docs/templates.md).

A template pins one published version (`version_id`), so what accounts start from never
changes behind the org's back; the org moves it to a newer version with an update. The new
workflow is a draft of the account's own: its app steps whose app the account has not
connected are the draft's CONNECTION_REQUIRED problems, as for any draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_app
from weft.apps.template_inputs import check_inputs_schema, injected_nodes
from weft.clock import now
from weft.errors import Conflict, InvalidInput, NotFound
from weft.ids import new_id
from weft.store.db import Database
from weft.store.scope import OrgScope, PublicScope, Scope, scoped_select
from weft.store.tables import Workflow, WorkflowTemplate, WorkflowVersion
from weft.workflows import records, versions
from weft.workflows.public import get_public_workflow

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"
MAX_TEMPLATES = 500  # per org and environment
MAX_REQUIRED_APPS = 20
MAX_TEXT_ICON = 4  # an emoji or a few letters; longer icons name an app


@dataclass
class TemplateSpec:
    """What the org says about a template (create: all; update: the fields it sends)."""

    workflow_id: str | None = None
    version: int | None = None
    name: str | None = None
    description: str | None = None
    category: str | None = None
    icon: str | None = None
    required_apps: list[str] | None = None
    inputs: dict[str, Any] | None = None
    sent: set[str] = field(default_factory=set)


def _not_found(key: str) -> NotFound:
    return NotFound(f"Template {key} not found", error_code="TEMPLATE_NOT_FOUND")


async def _find(scope: OrgScope, key: str, *, session: AsyncSession) -> WorkflowTemplate:
    found = await session.scalar(
        scoped_select(WorkflowTemplate, scope).where(WorkflowTemplate.key == key)
    )
    if found is None:
        raise _not_found(key)
    return found


async def _pinned_version(
    scope: OrgScope, workflow_id: str, number: int | None, *, session: AsyncSession
) -> WorkflowVersion:
    """The published version a template points at (default: the live one)."""
    public = PublicScope(scope.org_id, scope.environment)
    workflow = await get_public_workflow(public, workflow_id, session=session)
    number = number if number is not None else workflow.current_version
    if number < 1:
        raise Conflict(
            f"Workflow {workflow.id} has no published version: publish it first",
            error_code="TEMPLATE_NOT_PUBLISHED",
        )
    found = await session.scalar(
        scoped_select(WorkflowVersion, public).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.version == number
        )
    )
    if found is None:
        raise NotFound(
            f"Workflow {workflow.id} has no version {number}", error_code="VERSION_NOT_FOUND"
        )
    if (found.settings or {}).get("data_slots"):
        raise InvalidInput(
            "A workflow with dataslots cannot be a template: its values come from a linked "
            "account's config, which a private workflow has not",
            error_code="TEMPLATE_HAS_DATA_SLOTS",
        )
    return found


async def _check_apps(scope: OrgScope, spec: TemplateSpec, *, session: AsyncSession) -> None:
    slugs = spec.required_apps or []
    if len(slugs) > MAX_REQUIRED_APPS or len(set(slugs)) != len(slugs):
        raise InvalidInput(
            f"required_apps: at most {MAX_REQUIRED_APPS} app slugs, each once",
            error_code="INVALID_TEMPLATE",
        )
    for slug in slugs:
        await resolve_app(scope.org_id, slug=slug, session=session)
    icon = spec.icon
    if icon and len(icon) > MAX_TEXT_ICON:
        try:
            await resolve_app(scope.org_id, slug=icon, session=session)
        except NotFound as error:
            raise InvalidInput(
                f"icon {icon[:100]!r} is neither an app slug nor up to {MAX_TEXT_ICON} "
                "characters (an emoji)",
                error_code="INVALID_TEMPLATE",
            ) from error


def _apply(row: WorkflowTemplate, spec: TemplateSpec, version: WorkflowVersion | None) -> None:
    if version is not None:
        row.workflow_id, row.version_id = version.workflow_id, version.id
        row.version = version.version or 0
    for name in ("name", "description", "category", "icon", "required_apps"):
        if name in spec.sent:
            value = getattr(spec, name)
            default = None if name == "icon" else [] if name == "required_apps" else ""
            setattr(row, name, value if value is not None else default)
    row.updated_at = now()


async def mark_template(
    scope: OrgScope, key: str, spec: TemplateSpec, *, session: AsyncSession
) -> WorkflowTemplate:
    """Mark a published version of a public workflow as template `key` (409 if taken)."""
    if not re.match(KEY_PATTERN, key):
        raise InvalidInput(
            "key: lowercase letters, digits, _ and -, up to 100", error_code="INVALID_TEMPLATE"
        )
    if not spec.workflow_id or not spec.name:
        raise InvalidInput("workflow_id and name are required", error_code="INVALID_TEMPLATE")
    taken = scoped_select(WorkflowTemplate, scope).with_only_columns(func.count())
    if (await session.scalar(taken) or 0) >= MAX_TEMPLATES:
        raise Conflict(f"At most {MAX_TEMPLATES} templates", error_code="TOO_MANY_TEMPLATES")
    version = await _pinned_version(scope, spec.workflow_id, spec.version, session=session)
    await _check_apps(scope, spec, session=session)
    row = WorkflowTemplate(
        id=new_id(),
        org_id=scope.org_id,
        environment=scope.environment,
        key=key,
        inputs=check_inputs_schema(spec.inputs, version.nodes),
        created_at=now(),
    )
    _apply(row, spec, version)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as error:
        raise Conflict(f"Template {key} exists already", error_code="TEMPLATE_EXISTS") from error
    return row


async def create_template(
    db: Database, scope: OrgScope, key: str, spec: TemplateSpec
) -> WorkflowTemplate:
    """`mark_template` in its own transaction (the API's create)."""
    async with db.transaction() as session:
        return await mark_template(scope, key, spec, session=session)


async def update_template(
    db: Database, scope: OrgScope, key: str, spec: TemplateSpec
) -> WorkflowTemplate:
    """Change what the org sent; `workflow_id`/`version` re-pin (default: the live version)."""
    async with db.transaction() as session:
        row = await _find(scope, key, session=session)
        version = None
        if {"workflow_id", "version"} & spec.sent:
            source = spec.workflow_id or row.workflow_id
            version = await _pinned_version(scope, source, spec.version, session=session)
        await _check_apps(scope, spec, session=session)
        if "name" in spec.sent and not spec.name:
            raise InvalidInput("name must not be empty", error_code="INVALID_TEMPLATE")
        if version is not None or "inputs" in spec.sent:
            nodes = version.nodes if version else (await _content(row, session=session)).nodes
            schema = spec.inputs if "inputs" in spec.sent else row.inputs
            row.inputs = check_inputs_schema(schema, nodes)
        _apply(row, spec, version)
        await session.flush()
        return row


async def remove_template(scope: OrgScope, key: str, *, session: AsyncSession) -> None:
    """Remove template `key`; workflows started from it stay (they are the accounts' own)."""
    await session.delete(await _find(scope, key, session=session))
    await session.flush()


async def delete_template(db: Database, scope: OrgScope, key: str) -> None:
    """`remove_template` in its own transaction."""
    async with db.transaction() as session:
        await remove_template(scope, key, session=session)


async def find_templates(
    scope: OrgScope, *, query: str | None, category: str | None, session: AsyncSession
) -> list[WorkflowTemplate]:
    """The org's templates, by category then name; `query` searches name, description and
    category, `category` is exact."""
    stmt = scoped_select(WorkflowTemplate, scope)
    if query:
        like = f"%{records.escape_like(query)}%"
        stmt = stmt.where(
            or_(
                WorkflowTemplate.name.ilike(like, escape="\\"),
                WorkflowTemplate.description.ilike(like, escape="\\"),
                WorkflowTemplate.category.ilike(like, escape="\\"),
            )
        )
    if category:
        stmt = stmt.where(WorkflowTemplate.category == category)
    order = (WorkflowTemplate.category, WorkflowTemplate.name, WorkflowTemplate.key)
    return list((await session.scalars(stmt.order_by(*order))).all())


async def list_templates(
    db: Database, scope: OrgScope, *, query: str | None, category: str | None
) -> list[WorkflowTemplate]:
    """`find_templates` in a read transaction."""
    async with db.reading() as session:
        return await find_templates(scope, query=query, category=category, session=session)


async def get_template(db: Database, scope: OrgScope, key: str) -> WorkflowTemplate:
    """One template of the org, or 404 (another org's is a 404 too)."""
    async with db.reading() as session:
        return await _find(scope, key, session=session)


async def _content(row: WorkflowTemplate, *, session: AsyncSession) -> WorkflowVersion:
    public = PublicScope(row.org_id, row.environment)
    version = await session.scalar(
        scoped_select(WorkflowVersion, public).where(WorkflowVersion.id == row.version_id)
    )
    if version is None:  # the foreign key cascades: only a race with a delete gets here
        raise _not_found(row.key)
    return version


async def start_from_template(
    db: Database, scope: Scope, key: str, *, inputs: Any, name: str | None
) -> tuple[Workflow, WorkflowVersion]:
    """A new private workflow of `scope`'s account whose draft is template `key`'s graph with
    `inputs` in place (400 listing why inputs do not fit its schema)."""
    async with db.transaction() as session:
        row = await _find(scope, key, session=session)
        content = await _content(row, session=session)
        nodes = injected_nodes(row.inputs, content.nodes, inputs)
        public = PublicScope(row.org_id, row.environment)
        source = await get_public_workflow(public, row.workflow_id, session=session)
        app = await resolve_app(scope.org_id, app_id=source.app_id, session=session)
        workflow, _ = await records.create_workflow(
            scope,
            name=name or row.name,
            app=app,
            description=row.description or None,
            session=session,
        )
        return await versions.save_draft(
            scope,
            workflow.id,
            nodes=nodes,
            edges=list(content.edges),
            settings=dict(content.settings or {}),
            session=session,
        )
