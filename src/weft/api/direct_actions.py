"""Direct actions in Refold's shapes (`/api/v2/integration-schema/{slug}/actions...`): an app's
actions, one action's parameters, and executing one for a linked account without a workflow.

Session token, or org key + `linked_account_id`. The call itself is
`engine.agents.direct_actions.execute_action` (the app_action node's path)."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Request

from weft.api.deps import ScopeDep, ServicesDep
from weft.api.envelope import request_id_of
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES
from weft.engine.agents import direct_actions
from weft.tenancy.audit import Actor

PREFIX = "/api/v2/integration-schema"
router = Router(prefix=PREFIX, tags=["direct actions"], responses=ERROR_RESPONSES)


@router.get("/{slug}/actions", summary="The app's actions: [{id, name, description, effect}]")
async def list_actions(slug: str, scope: ScopeDep, services: ServicesDep) -> list[dict[str, Any]]:
    definition = await direct_actions.app_definition(services, scope.org_id, slug)
    return [direct_actions.action_summary(action) for action in definition.actions]


@router.get(
    "/{slug}/actions/{action_id}",
    summary="One action's parameters: [{name, label, required, type}]",
)
async def action_parameters(
    slug: str, action_id: str, scope: ScopeDep, services: ServicesDep
) -> list[dict[str, Any]]:
    action = await direct_actions.find_action(services, scope.org_id, slug, action_id)
    return direct_actions.action_fields(action)


@router.post(
    "/{slug}/actions/{action_id}/execute",
    summary="Execute the action for the linked account: {data, node_status, http_status}",
)
async def execute_action(
    slug: str,
    action_id: str,
    request: Request,
    scope: ScopeDep,
    services: ServicesDep,
    params: Any = Body(default_factory=dict),
) -> dict[str, Any]:
    actor = getattr(request.state, "audit_actor", None) or Actor(
        scope.org_id, scope.environment, "session_token", scope.account_id
    )
    call = await direct_actions.execute_action(
        services,
        scope,
        slug,
        action_id,
        params,
        actor=actor,
        request_id=request_id_of(request),
    )
    return call.as_json()
