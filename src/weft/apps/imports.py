"""Importing an org's app from an OpenAPI document: fetch, derive, compare, save.

A re-import reports which actions it adds, changes and removes, and which published workflows
use the changed or removed ones; a removed action a live workflow still calls stays in the
definition, deprecated, until a later import finds no live workflow using it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_definition, save_org_app
from weft.apps.model import AppDefinition
from weft.apps.openapi import MAX_DOCUMENT_BYTES, Derived, Pick, import_document
from weft.apps.openapi.diff import diff_definitions, keep_deprecated
from weft.apps.openapi.loading import InvalidDocument
from weft.errors import InvalidInput, NotFound, WeftError
from weft.nodes import KINDS
from weft.store.db import Database
from weft.store.tables import App, Workflow, WorkflowVersion

log = logging.getLogger("weft.apps")


@dataclass
class ImportOutcome:
    """What an import did (the API's and the CLI's answer)."""

    slug: str
    actions: list[str]
    added: list[str]
    changed: list[str]
    removed: list[str]
    deprecated: list[str]
    affected_workflows: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dataclasses.asdict(self)


async def fetch_document(url: str, policy: Any) -> str | bytes | dict[str, Any]:
    """The document at `url`, through the outbound guard with `policy`'s allow list."""
    from weft.net import OutboundClient, OutboundError  # heavy: only URL imports need it

    if not url.startswith(("http://", "https://")):
        raise InvalidInput("url must be an http(s) URL", error_code="INVALID_OPENAPI")
    policy = dataclasses.replace(policy, max_response_bytes=MAX_DOCUMENT_BYTES)
    async with OutboundClient(policy) as client:
        try:
            response = await client.request("GET", url, headers={"accept": "*/*"})
        except OutboundError as error:
            raise InvalidInput(
                f"The document could not be fetched: {error.message}", error_code="FETCH_FAILED"
            ) from None
    if response.status >= 400:
        raise InvalidInput(
            f"The document URL answered {response.status}", error_code="FETCH_FAILED"
        )
    body = response.body
    return body if isinstance(body, dict | str | bytes) else str(body)


async def derive_in_thread(raw: str | bytes | dict[str, Any], **options: Any) -> Derived:
    """`import_document` off the event loop: validating a large document takes seconds."""
    return await asyncio.to_thread(derive_checked, raw, **options)


def derive_checked(raw: str | bytes | dict[str, Any], **options: Any) -> Derived:
    """`import_document`, where a document shaped past what the libraries expect is a 400."""
    try:
        return import_document(raw, **options)
    except WeftError:
        raise
    except RecursionError:
        raise InvalidDocument("The document is nested too deeply") from None
    except Exception as error:  # a validator or resolver tripping on a strange document
        log.warning("OpenAPI import failed on %s", type(error).__name__, exc_info=True)
        raise InvalidDocument(
            f"The document could not be read as OpenAPI ({type(error).__name__})"
        ) from None


async def live_action_users(
    org_id: str, slug: str, *, session: AsyncSession
) -> dict[str, list[dict[str, Any]]]:
    """Action name -> the published workflows whose live version calls it on app `slug`."""
    stmt = (
        select(Workflow, WorkflowVersion.nodes, App.slug)
        .join(
            WorkflowVersion,
            (WorkflowVersion.workflow_id == Workflow.id)
            & (WorkflowVersion.version == Workflow.current_version),
        )
        .join(App, App.id == Workflow.app_id)
        .where(Workflow.org_id == org_id, Workflow.published.is_(True))
        .order_by(Workflow.id)
    )
    users: dict[str, list[dict[str, Any]]] = {}
    for workflow, nodes, workflow_app in (await session.execute(stmt)).all():
        for node in nodes or []:
            kind = KINDS.get(node.get("type")) if isinstance(node, dict) else None
            data = node.get("data") or {} if kind is not None else {}
            if kind is None or kind.app_reference != "action" or not isinstance(data, dict):
                continue
            if (data.get("app") or workflow_app) != slug or not isinstance(data.get("action"), str):
                continue
            seen = users.setdefault(data["action"], [])
            if all(entry["workflow_id"] != workflow.id for entry in seen):
                seen.append(
                    {
                        "workflow_id": workflow.id,
                        "name": workflow.name,
                        "environment": workflow.environment,
                        "version": workflow.current_version,
                    }
                )
    return users


async def _current(org_id: str, slug: str, *, session: AsyncSession) -> AppDefinition | None:
    try:
        return await resolve_definition(org_id, slug, session=session)
    except NotFound:
        return None


async def save_import(org_id: str, derived: Derived, *, session: AsyncSession) -> ImportOutcome:
    """Save the derived app as the org's own, keeping removed actions live workflows use."""
    new = derived.definition
    old = await _current(org_id, new.slug, session=session)
    users = await live_action_users(org_id, new.slug, session=session)
    diff = diff_definitions(old, new)
    kept = keep_deprecated(old, new, set(users))
    await save_org_app(org_id, kept, session=session)
    touched = [*diff.changed, *diff.removed]
    affected: dict[str, dict[str, Any]] = {}
    for name in touched:
        for entry in users.get(name, []):
            affected.setdefault(entry["workflow_id"], {**entry, "actions": []})["actions"].append(
                name
            )
    return ImportOutcome(
        slug=kept.slug,
        actions=[action.name for action in kept.actions],
        added=diff.added,
        changed=diff.changed,
        removed=diff.removed,
        deprecated=sorted(action.name for action in kept.actions if action.deprecated),
        affected_workflows=sorted(affected.values(), key=lambda entry: entry["workflow_id"]),
        warnings=derived.warnings,
    )


async def import_app(
    db: Database,
    org_id: str,
    raw: str | bytes | dict[str, Any] | None,
    *,
    url: str | None = None,
    policy: Any = None,
    slug: str | None = None,
    operations: list[str] | None = None,
    tags: list[str] | None = None,
) -> ImportOutcome:
    """Derive the app from `raw` (or the document at `url`) and save it as one of the org's
    apps, in one transaction."""
    document_url = url
    if url is not None:
        raw = await fetch_document(url, policy)
    if raw is None or (isinstance(raw, str | bytes) and not raw.strip()):
        raise InvalidDocument("The document is empty")
    picks = [Pick(operation=name) for name in operations] if operations else None
    derived = await derive_in_thread(
        raw, slug=slug, picks=picks, tags=tags or None, document_url=document_url
    )
    async with db.transaction() as session:
        return await save_import(org_id, derived, session=session)
