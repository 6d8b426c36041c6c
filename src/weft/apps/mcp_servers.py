"""A linked account's MCP servers (Refold's `mcp-servers`) and the log of their tool calls.

A server lists apps (`associated_apps`: each app's slug, optionally some of its actions and
some workflows), `suggestions` ({name, prompt}) and `chains` ({name, goals, steps...}) that
clients may show, a `mode` (`direct`: one tool per action and workflow; `agent`:
RESOLVE_ACTIONS and EXECUTE_ACTION) and `read_only` (write actions withheld). Its protocol URL
carries a token that acts for this account on this server only; only its SHA-256 is stored, as
for session tokens, and it is shown once (on create and when rotated).

Each function that opens a transaction is one operation as the API calls it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from weft.apps.catalog import resolve_definition
from weft.clock import now
from weft.errors import InvalidInput, NotFound
from weft.ids import new_id
from weft.redaction import redact_value
from weft.store.db import Database
from weft.store.pagination import Page, paginate
from weft.store.scope import OrgScope, Scope
from weft.store.tables import LinkedAccount, McpCall, McpServer
from weft.tenancy.secrets import hash_secret

TOKEN_PREFIX = "wmcp_"
MODES = ("direct", "agent")
MAX_APPS = 50


def new_server_token() -> str:
    """A fresh protocol token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ServerFields:
    """What a create or update may set (None: unchanged on update)."""

    name: str | None = None
    description: str | None = None
    mode: str | None = None
    read_only: bool | None = None
    suggestions: list[dict[str, Any]] | None = None
    chains: list[dict[str, Any]] | None = None
    associated_apps: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Authenticated:
    """A protocol request's server and the linked account its token acts for."""

    server: McpServer
    scope: Scope


async def _checked_apps(
    org_id: str, apps: list[dict[str, Any]], *, session: Any
) -> list[dict[str, Any]]:
    """`associated_apps` with each app and action checked to exist (400 naming the first
    unknown one); an app listing no actions offers all of them."""
    if len(apps) > MAX_APPS:
        raise InvalidInput(f"at most {MAX_APPS} associated_apps", error_code="INVALID_MCP_SERVER")
    checked = []
    for entry in apps:
        slug = entry["slug"]
        definition = await resolve_definition(org_id, slug, session=session)
        actions = []
        for wanted in entry.get("actions") or []:
            action = definition.action(wanted["id"])
            if action is None:
                raise InvalidInput(
                    f"App {slug} has no action {wanted['id']}", error_code="ACTION_NOT_FOUND"
                )
            actions.append(
                {
                    "id": action.name,
                    "name": wanted.get("name") or action.label,
                    "description": wanted.get("description") or action.description,
                }
            )
        workflows = [dict(workflow) for workflow in entry.get("workflows") or []]
        checked.append({"slug": slug, "actions": actions, "workflows": workflows})
    return checked


def _apply(server: McpServer, fields: ServerFields) -> None:
    for name in ("name", "description", "mode", "read_only", "suggestions", "chains"):
        value = getattr(fields, name)
        if value is not None:
            setattr(server, name, value)


async def create_server(db: Database, scope: Scope, fields: ServerFields) -> tuple[McpServer, str]:
    """A new server for the linked account, and its protocol token in clear (shown once)."""
    token = new_server_token()
    moment = now()
    async with db.transaction() as session:
        server = McpServer(
            id=new_id(),
            org_id=scope.org_id,
            environment=scope.environment,
            linked_account_pk=scope.linked_account_pk,
            name=fields.name or "",
            description="",
            mode="direct",
            read_only=False,
            suggestions=[],
            chains=[],
            associated_apps=await _checked_apps(
                scope.org_id, fields.associated_apps or [], session=session
            ),
            token_hash=hash_secret(token),
            created_at=moment,
            updated_at=moment,
        )
        _apply(server, fields)
        session.add(server)
    return server, token


async def _own(scope: Scope, server_id: str, *, session: Any) -> McpServer:
    server = await session.scalar(
        select(McpServer).where(
            McpServer.id == server_id,
            McpServer.org_id == scope.org_id,
            McpServer.environment == scope.environment,
            McpServer.linked_account_pk == scope.linked_account_pk,
        )
    )
    if server is None:
        raise NotFound(f"MCP server {server_id} not found", error_code="MCP_SERVER_NOT_FOUND")
    return server  # type: ignore[no-any-return]


async def get_server(db: Database, scope: Scope, server_id: str) -> McpServer:
    """One of the linked account's servers; 404 for anyone else's."""
    async with db.reading() as session:
        return await _own(scope, server_id, session=session)


async def list_servers(db: Database, scope: Scope, *, page: int, limit: int) -> Page[McpServer]:
    """The linked account's servers, oldest first."""
    stmt = select(McpServer).where(
        McpServer.org_id == scope.org_id,
        McpServer.environment == scope.environment,
        McpServer.linked_account_pk == scope.linked_account_pk,
    )
    async with db.reading() as session:
        return await paginate(
            stmt,
            session=session,
            page=page,
            limit=limit,
            order_by=(McpServer.created_at, McpServer.id),
        )


async def update_server(
    db: Database, scope: Scope, server_id: str, fields: ServerFields
) -> McpServer:
    """Change what the body gives (a list given replaces the stored one)."""
    async with db.transaction() as session:
        server = await _own(scope, server_id, session=session)
        _apply(server, fields)
        if fields.associated_apps is not None:
            server.associated_apps = await _checked_apps(
                scope.org_id, fields.associated_apps, session=session
            )
        server.updated_at = now()
    return server


async def delete_server(db: Database, scope: Scope, server_id: str) -> None:
    """Delete the server, its token and its call log."""
    async with db.transaction() as session:
        await session.delete(await _own(scope, server_id, session=session))


async def rotate_token(db: Database, scope: Scope, server_id: str) -> str:
    """A new protocol token (the old one stops working at once)."""
    token = new_server_token()
    async with db.transaction() as session:
        server = await _own(scope, server_id, session=session)
        server.token_hash = hash_secret(token)
        server.updated_at = now()
    return token


async def authenticate(db: Database, token: str, server_id: str) -> Authenticated | None:
    """The server a protocol URL names, when its token is this server's; else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200 or len(server_id) > 24:
        return None
    async with db.reading() as session:
        row = (
            await session.execute(
                select(McpServer, LinkedAccount)
                .join(LinkedAccount, LinkedAccount.id == McpServer.linked_account_pk)
                .where(McpServer.token_hash == hash_secret(token), McpServer.id == server_id)
            )
        ).first()
    if row is None:
        return None
    server, account = row
    scope = Scope(server.org_id, server.environment, account.id, account.account_id)
    return Authenticated(server, scope)


async def record_call(
    db: Database,
    server: McpServer,
    *,
    tool: str,
    app: str | None,
    action: str | None,
    arguments: Any,
    status: str,
    http_status: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    """Add one line to the server's call log (arguments redacted)."""
    async with db.transaction() as session:
        session.add(
            McpCall(
                id=new_id(),
                server_id=server.id,
                org_id=server.org_id,
                environment=server.environment,
                tool=tool[:300],
                app=app,
                action=action,
                arguments=redact_value(arguments),
                status=status,
                http_status=http_status,
                error=(error or None) and error[:2000],
                duration_ms=duration_ms,
                created_at=now(),
            )
        )


async def list_calls(
    db: Database, org: OrgScope, server_id: str, *, page: int, limit: int
) -> tuple[McpServer, Page[McpCall]]:
    """A server of the org's and its call log, newest first; 404 for another org's."""
    async with db.reading() as session:
        server = await session.scalar(
            select(McpServer).where(
                McpServer.id == server_id,
                McpServer.org_id == org.org_id,
                McpServer.environment == org.environment,
            )
        )
        if server is None:
            raise NotFound(f"MCP server {server_id} not found", error_code="MCP_SERVER_NOT_FOUND")
        calls = await paginate(
            select(McpCall).where(McpCall.server_id == server_id),
            session=session,
            page=page,
            limit=limit,
            order_by=(McpCall.created_at.desc(), McpCall.id.desc()),
        )
    return server, calls
