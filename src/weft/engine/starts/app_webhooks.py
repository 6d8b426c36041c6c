"""Receiving an app's webhook deliveries (`/hooks/app/{secret}`): check, dedupe, queue one run.

A delivery is answered 2xx only once its run's row is committed, so an app that retries until
it gets one (they all do) never loses an event. A redelivery carries the same event id (a
header such as `X-GitHub-Delivery`, or the body's `id`; else the body's digest), which becomes
the run's idempotency key `hook:<workflow>:<event id>`, unique per linked account: it finds
the run the first delivery started and starts none.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from weft.apps.catalog import resolve_definition
from weft.apps.connections import open_credentials, secret_box
from weft.apps.org_settings import app_settings
from weft.apps.polling import dig
from weft.apps.signatures import SignatureRejected, verify
from weft.apps.trigger_model import WebhookTrigger
from weft.engine.runs import lifecycle
from weft.engine.starts.app_triggers import run_key, subscription_secret, taken_keys
from weft.engine.starts.triggers import new_execution
from weft.engine.workers.services import Services
from weft.errors import InvalidInput, NotFound, WeftError
from weft.store.scope import Scope, account_scope, scoped_select
from weft.store.tables import AppTrigger, Execution, LinkedAccount, Workflow
from weft.workflows.pauses import refuse_if_paused


class SignatureInvalid(WeftError):
    status_code = 401
    error_code = "INVALID_SIGNATURE"


@dataclass(frozen=True)
class Delivery:
    """What a delivery started: the run's id, and whether an earlier delivery had; or, for a
    handshake, the answer the app expects (and no run)."""

    execution_id: str
    duplicate: bool
    handshake: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Target:
    row: AppTrigger
    workflow: Workflow
    scope: Scope
    trigger: WebhookTrigger


async def _target(services: Services, secret: str) -> _Target:
    missing = NotFound("No live app webhook at this address", error_code="WEBHOOK_NOT_FOUND")
    async with services.db.reading() as session:
        found = (
            await session.execute(
                select(AppTrigger, Workflow, LinkedAccount)
                .join(Workflow, Workflow.id == AppTrigger.workflow_id)
                .join(LinkedAccount, LinkedAccount.id == Workflow.linked_account_pk)
                .where(Workflow.webhook_secret == secret)
            )
        ).first()
        if found is None or not found[1].published or found[0].status == "stopping":
            raise missing
        row, workflow, account = found
        refuse_if_paused(workflow)
        try:
            definition = await resolve_definition(row.org_id, row.app, session=session)
        except NotFound:
            raise missing from None
    trigger = definition.trigger(row.trigger)
    if not isinstance(trigger, WebhookTrigger):
        raise missing
    return _Target(row, workflow, account_scope(account), trigger)


async def _signing_secret(services: Services, target: _Target) -> str | None:
    source = target.trigger.signature.secret if target.trigger.signature else None
    if source is None:
        return None
    if source.subscription:
        return subscription_secret(services, target.row)
    async with services.db.reading() as session:
        if source.org_setting:
            box = secret_box(services.settings)
            found = await app_settings(target.row.org_id, target.row.app, session=session, box=box)
            return found.webhook_secret
        opened = await open_credentials(
            target.scope, target.row.app, session=session, settings=services.settings
        )
    if opened is None:
        return None
    # A key-based connection keeps its form's values under `fields`; OAuth2 its token answer.
    values = opened[1].get("fields", opened[1])
    value = values.get(source.connection_field or "")
    return str(value) if value else None


def _event_id(trigger: WebhookTrigger, raw: bytes, body: Any, headers: dict[str, str]) -> str:
    if trigger.event_id_header and headers.get(trigger.event_id_header.lower()):
        return headers[trigger.event_id_header.lower()]
    if trigger.event_id_path and dig(body, trigger.event_id_path) is not None:
        return str(dig(body, trigger.event_id_path))
    return "sha256:" + hashlib.sha256(raw).hexdigest()


async def receive_app_webhook(
    services: Services, secret: str, raw: bytes, headers: dict[str, str]
) -> Delivery:
    """Check one delivery and queue its run (or find the one a redelivery already started).

    `headers` keyed in lower case. 404 unknown address, 401 bad signature, 400 not JSON."""
    target = await _target(services, secret)
    signature = target.trigger.signature
    if signature is not None:
        signing = await _signing_secret(services, target)
        if not signing:
            raise SignatureInvalid(
                f"No signing secret is set for {target.row.app}'s webhooks, so no delivery "
                "can be checked",
                error_code="WEBHOOK_SECRET_NOT_SET",
            )
        try:
            verify(signature, signing, raw, headers, at=time.time())
        except SignatureRejected as error:
            raise SignatureInvalid(f"Webhook signature refused: {error}") from None
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise InvalidInput("The delivery is not JSON", error_code="INVALID_PAYLOAD") from None
    shake = target.trigger.handshake
    if shake is not None and dig(body, shake.path) == shake.equals:
        echoed = dig(body, shake.answer)
        return Delivery("", duplicate=False, handshake={shake.answer.rsplit(".", 1)[-1]: echoed})
    key = run_key("hook", target.workflow.id, _event_id(target.trigger, raw, body, headers))
    try:
        return await lifecycle.queue_runs(
            services, lambda session: _queue(target, key, body, session)
        )
    except IntegrityError:
        # A concurrent redelivery committed the same key first: answer with its run.
        async with services.db.reading() as session:
            return await _existing(target.scope, key, session)


async def _existing(scope: Scope, key: str, session: Any) -> Delivery:
    stmt = scoped_select(Execution, scope).where(Execution.idempotency_key == key)
    found = await session.scalar(stmt)
    return Delivery(found.id, duplicate=True)


async def _queue(target: _Target, key: str, body: Any, session: Any) -> Delivery:
    if await taken_keys(target.scope, [key], session=session):
        return await _existing(target.scope, key, session)
    run = new_execution(target.scope, target.workflow, trigger="app", payload=body, key=key)
    session.add(run)
    await session.flush()
    return Delivery(run.id, duplicate=False)
