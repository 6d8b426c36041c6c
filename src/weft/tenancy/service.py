"""Linked accounts, session tokens and org settings as the API calls them: one transaction each.

Writes take a write transaction; reads a read transaction that creates nothing. Rows come back
usable after the commit (the sessions do not expire them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weft.errors import NotFound
from weft.store.db import Database
from weft.store.pagination import Page
from weft.store.scope import OrgScope, Scope
from weft.store.tables import AuditEvent, LinkedAccount, Org, Workflow
from weft.tenancy import accounts, audit, connect_links, orgs, origins, tokens
from weft.workflows.records import locate_workflow


async def save_linked_account(
    db: Database, org: OrgScope, account_id: str, *, name: str | None, udf: Any, replace: bool
) -> LinkedAccount:
    """A new linked account (409 when the id is taken), or with `replace` created or updated."""
    save = accounts.upsert_linked_account if replace else accounts.create_linked_account
    async with db.transaction() as session:
        return await save(org, account_id, name=name, udf=udf, session=session)


async def list_linked_accounts(
    db: Database, org: OrgScope, *, page: int, limit: int
) -> Page[LinkedAccount]:
    """One page of the org's linked accounts in this environment, newest first."""
    async with db.reading() as session:
        return await accounts.list_linked_accounts(org, page=page, limit=limit, session=session)


async def get_linked_account(db: Database, org: OrgScope, account_id: str) -> LinkedAccount:
    """One linked account, or 404."""
    async with db.reading() as session:
        return await accounts.get_linked_account(org, account_id, session=session)


async def delete_linked_account(db: Database, org: OrgScope, account_id: str) -> None:
    """Delete a linked account and everything it owns."""
    async with db.transaction() as session:
        await accounts.delete_linked_account(org, account_id, session=session)


async def issue_session_token(
    db: Database,
    org: OrgScope,
    account_id: str,
    *,
    expires_in: int,
    max_expires_in: int,
    name: str | None,
) -> tokens.IssuedToken:
    """A session token for the linked account, created (and named, when `name`) on first use."""
    async with db.transaction() as session:
        issued = await tokens.issue_session_token(
            org, account_id, expires_in=expires_in, max_expires_in=max_expires_in, session=session
        )
        if name:
            await accounts.upsert_linked_account(org, account_id, name=name, session=session)
    return issued


async def revoke_session_tokens(
    db: Database, org: OrgScope, *, token: str | None, account_id: str | None
) -> int:
    """Revoke one token, or every token of a linked account; how many."""
    async with db.transaction() as session:
        return await tokens.revoke_session_tokens(
            org, token=token, account_id=account_id, session=session
        )


async def org_and_account(db: Database, scope: Scope) -> tuple[Org, LinkedAccount]:
    """The org and the linked account a session acts for."""
    async with db.reading() as session:
        org = await orgs.get_org(scope.org_id, session=session)
        account = await session.get(LinkedAccount, scope.linked_account_pk)
    assert account is not None  # the scope was built from this row
    return org, account


async def allowed_origins(db: Database, org_id: str) -> list[str]:
    """The origins the org allows to embed the editor and call from browsers."""
    async with db.reading() as session:
        return await orgs.allowed_origins_of(org_id, session=session)


async def any_org_allows(db: Database, origin: str) -> bool:
    """Whether at least one org lists `origin` in its allowed origins."""
    async with db.reading() as session:
        return await origins.any_org_allows_origin(origin, session=session)


async def update_allowed_origins(db: Database, org_id: str, allowed: list[str] | None) -> list[str]:
    """Replace the allowed origins (None: keep them); the origins now allowed."""
    async with db.transaction() as session:
        if allowed is not None:
            await orgs.set_allowed_origins(org_id, allowed, session=session)
        return await orgs.allowed_origins_of(org_id, session=session)


async def record_change(
    db: Database,
    actor: audit.Actor,
    action: str,
    *,
    target: dict[str, Any],
    status: int,
    request_id: str | None,
) -> None:
    """One audit row for a change already committed, in its own transaction."""
    async with db.transaction() as session:
        audit.record_event(
            actor, action, target=target, status=status, request_id=request_id, session=session
        )


async def audit_events(db: Database, org: OrgScope, *, page: int, limit: int) -> Page[AuditEvent]:
    """One page of the org's audit events in this environment, newest first."""
    async with db.reading() as session:
        return await audit.list_events(org, page=page, limit=limit, session=session)


@dataclass(frozen=True)
class EditorAccess:
    """The editor page's view of a session token: its check, its org's origins, the workflow."""

    token: tokens.TokenCheck
    origins: list[str]
    workflow: Workflow | None  # None: not a workflow of the token's linked account


async def editor_access(db: Database, token: str, workflow_id: str | None) -> EditorAccess:
    """Check a session token for the editor page, and find its workflow (None: the page
    starts a new one, so there is none to find)."""
    async with db.reading() as session:
        check = await tokens.check_session_token(token, session=session)
        origins = (
            await orgs.allowed_origins_of(check.org_id, session=session) if check.org_id else []
        )
        if check.scope is None or workflow_id is None:
            return EditorAccess(check, origins, None)
        try:
            located = await locate_workflow(check.scope, workflow_id, session=session)
        except NotFound:
            return EditorAccess(check, origins, None)
    return EditorAccess(check, origins, located.workflow)


async def mint_connect_link(
    db: Database,
    scope: Scope,
    *,
    theme: dict[str, Any],
    apps: list[str] | None,
    expires_in: int,
) -> connect_links.MintedLink:
    """A single-use link to the hosted Connect portal for the account `scope` acts as."""
    async with db.transaction() as session:
        return await connect_links.mint_link(
            scope, theme=theme, apps=apps, expires_in=expires_in, session=session
        )


async def redeem_connect_link(
    db: Database, raw: str, *, session_ttl_s: int
) -> connect_links.Redeemed:
    """Open a portal link: once, for a page session; afterwards, why it no longer works."""
    async with db.transaction() as session:
        return await connect_links.redeem_link(raw, session_ttl_s=session_ttl_s, session=session)
