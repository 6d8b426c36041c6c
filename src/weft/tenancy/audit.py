"""The audit log: who created, changed, published or deleted what, and key rotations.

Changes come through the API (api.audit's middleware), the OAuth callback (a connection the
provider sent the browser back for) and the `weft` command (`record_cli_change`, and
`record_deployment_change` for `weft secrets rotate`, which touches every org).

Runs are not repeated here: each execution is its own record (trigger, account, version,
status) in the execution history. Rows are written after the change committed, in their own
transaction; they are read by the org through its API key, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.ids import new_id
from weft.store.pagination import Page, paginate
from weft.store.scope import ENVIRONMENTS, OrgScope
from weft.store.tables import AuditEvent, Org


@dataclass(frozen=True)
class Actor:
    """Who made a call: the org key or a session token, for which linked account."""

    org_id: str
    environment: str
    kind: str  # "org_key", "session_token", "cli" or "oauth_callback"
    linked_account_id: str | None = None


def record_event(
    actor: Actor,
    action: str,
    *,
    target: dict[str, Any],
    status: int,
    request_id: str | None,
    session: AsyncSession,
) -> None:
    """Add one audit row (the caller's transaction commits it)."""
    session.add(
        AuditEvent(
            id=new_id(),
            org_id=actor.org_id,
            environment=actor.environment,
            actor=actor.kind,
            linked_account_id=actor.linked_account_id,
            action=action,
            target=target,
            status=status,
            request_id=request_id,
            created_at=now(),
        )
    )


def record_cli_change(
    org_id: str,
    action: str,
    *,
    target: dict[str, Any],
    session: AsyncSession,
    environments: Sequence[str] = ENVIRONMENTS,
) -> None:
    """A change made with the `weft` command, in the log of each of `environments`: a change to
    the whole org (its settings, a key rotation) shows in every environment's log."""
    for environment in environments:
        record_event(
            Actor(org_id, environment, "cli"),
            action,
            target={key: str(value) for key, value in target.items()},
            status=200,
            request_id=None,
            session=session,
        )


async def record_deployment_change(
    action: str, *, target: dict[str, Any], session: AsyncSession
) -> None:
    """A change made with the `weft` command to the whole deployment (the secret key that
    seals every org's credentials), in every environment's log of every org."""
    for org_id in await session.scalars(select(Org.id)):
        record_cli_change(org_id, action, target=target, session=session)


async def list_events(
    scope: OrgScope, *, page: int, limit: int, session: AsyncSession
) -> Page[AuditEvent]:
    """The org's audit events in this environment, newest first."""
    stmt = select(AuditEvent).where(
        AuditEvent.org_id == scope.org_id, AuditEvent.environment == scope.environment
    )
    return await paginate(
        stmt,
        session=session,
        page=page,
        limit=limit,
        order_by=(AuditEvent.created_at.desc(), AuditEvent.id.desc()),
    )
