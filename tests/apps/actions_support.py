"""Running one app action the way the runner does, against fake APIs on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from engine.flows import BASE, create_draft
from support import Tenant
from weft.api.deps import app_state
from weft.apps.connections import save_keybased_connection, save_oauth_connection
from weft.apps.gateway import AppGateway
from weft.engine.interpreter.context import expression_scope, node_context
from weft.expressions.evaluator import Limits
from weft.nodes import app_action
from weft.nodes.runtime import NodeResult
from weft.store.scope import Scope, account_scope
from weft.store.tables import LinkedAccount


async def scope_of(app: FastAPI, org_id: str, account_id: str) -> Scope:
    """The Scope of an existing linked account."""
    async with app_state(app).db.reading() as session:
        account = await session.scalar(
            select(LinkedAccount).where(
                LinkedAccount.org_id == org_id, LinkedAccount.account_id == account_id
            )
        )
    return account_scope(account)


async def connect_with_token(app: FastAPI, scope: Scope, slug: str, access_token: str) -> None:
    """Store an OAuth2 connection directly (the OAuth flow has its own test)."""
    async with app_state(app).db.transaction() as session:
        await save_oauth_connection(
            scope,
            slug,
            {"access_token": access_token, "refresh_token": None, "token_type": "Bearer"},
            expires_at=None,
            identifier=None,
            session=session,
            settings=app_state(app).settings,
        )


async def connect_with_key(app: FastAPI, scope: Scope, slug: str, fields: dict[str, str]) -> None:
    """Store a key-based connection."""
    async with app_state(app).db.transaction() as session:
        await save_keybased_connection(
            scope, slug, fields, session=session, settings=app_state(app).settings
        )


async def run_action(
    app: FastAPI,
    scope: Scope,
    slug: str | None,
    action: str,
    params: dict[str, Any],
    *,
    workflow_id: str = "0" * 24,
    options: dict[str, Any] | None = None,
) -> NodeResult:
    """Run an app_action node alone with the runner's context (raises NodeFailure).

    `options`: more node data (`all_pages`, `max_items`, `timeout_s`)."""
    services = app_state(app).services
    gateway = AppGateway(
        services, scope.org_id, scope.environment, scope.linked_account_pk, workflow_id
    )
    data = {"app": slug, "action": action, "params": params} if slug else {"action": action}
    if not slug:
        data["params"] = params
    data |= options or {}
    config = app_action.Config.model_validate(data)
    node = app_action_node(data)
    ctx = node_context(
        node,
        expression_scope(trigger={}, nodes={}, loop=None, config=None),
        Limits(),
        outbound=services.outbound,
        sandbox=services.sandbox,
        extras={"apps": gateway},
    )
    return await app_action.run(config, ctx)


def app_action_node(data: dict[str, Any]) -> Any:
    from weft.workflows.graph import NodeIn

    return NodeIn(id="2", type="app_action", name="Call app", data=data)


async def publish_chain(
    client: httpx.AsyncClient,
    tenant: Tenant,
    nodes: list[dict[str, Any]],
    *,
    slug: str | None = None,
) -> httpx.Response:
    """Create a workflow (for app `slug`, or account-level), save `nodes` in a chain, publish."""
    workflow_id = await create_draft(client, tenant, nodes, name="apps flow", slug=slug)
    published = await client.put(
        f"{BASE}/workflow/{workflow_id}/publish", json={"published": True}, headers=tenant.bearer
    )
    published.workflow_id = workflow_id  # type: ignore[attr-defined]
    return published
