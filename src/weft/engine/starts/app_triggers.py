"""App triggers at run time: polling list actions and (un)subscribing app webhooks.

Every process that runs the scheduler runs an `AppTriggerPoller`. It claims due
`app_triggers` rows as workers claim runs: one statement, rows another poller holds skipped,
and a lease (`lease_owner`, `due_at` pushed out by `LEASE_S`) so a dead poller's row comes
back. The app's API is called outside any transaction; what the call found is then written in
one transaction fenced by the lease (`_fenced`; the lease owner names host and pid, as a
run's does): the new runs and the advanced poll state
commit together or not at all. So a poller killed before its commit leaves the old state, and
the next poll finds the same items again; one that lost its lease writes nothing. Each run
also carries the idempotency key `poll:<workflow>:<item key>`, unique per linked account, and
keys already taken are skipped: a new item starts exactly one run.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_definition
from weft.apps.connections import secret_box
from weft.apps.gateway import AppGateway
from weft.apps.model import AppDefinition
from weft.apps.polling import PollState, dig, listed_items, new_items
from weft.apps.trigger_model import PollingTrigger, Subscription, WebhookTrigger
from weft.clock import now
from weft.crypto import SecretUnreadable
from weft.engine.interpreter.outbound import outbound_for
from weft.engine.starts.periodic import Periodic
from weft.engine.starts.triggers import new_execution
from weft.engine.workers.services import Services
from weft.engine.workers.wakeups import wake_workers_in_transaction
from weft.engine.workers.worker import worker_name
from weft.errors import WeftError
from weft.net import OutboundError
from weft.nodes.runtime import NodeFailure
from weft.store.db import log_database_failure, skipping_taken_rows
from weft.store.scope import Scope, account_scope, scoped_select
from weft.store.tables import AppTrigger, Execution, LinkedAccount, Workflow

log = logging.getLogger("weft.app_triggers")

# A poll's lease, in run leases: long enough for a slow list call (a poller that overruns
# it is fenced out and writes nothing, so a short one costs only a repeated call).
LEASE_IN_RUN_LEASES = 4
RETRY_S = 60.0  # after a failed subscribe or unsubscribe
MAX_UNSUBSCRIBE_TRIES = 5
MAX_KEY = 200
# Items one poll reads at most across pages (a runaway list stops here).
POLL_MAX_ITEMS = 1000


class TriggerCallFailed(Exception):
    """An app call a trigger made failed (not connected, refused, unreachable)."""


@dataclass(frozen=True)
class Claimed:
    """A claimed `app_triggers` row as it was at the claim, and the claim's fence token."""

    id: str
    token: str
    workflow_id: str | None
    org_id: str
    environment: str
    linked_account_pk: str
    app: str
    trigger: str
    params: dict[str, Any]
    status: str
    state: dict[str, Any]


def run_key(prefix: str, workflow_id: str, key: str) -> str:
    """The idempotency key of the run an item or delivery starts (digested when too long)."""
    text = f"{prefix}:{workflow_id}:{key}"
    if len(text) <= MAX_KEY:
        return text
    return f"{prefix}:{workflow_id}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def hook_url(services: Services, secret: str) -> str:
    """The URL an app delivers a workflow's webhook events to (api.app_hooks)."""
    return f"{services.settings.base_url}/hooks/app/{secret}"


class AppTriggerPoller(Periodic):
    """Polls due app triggers and (un)subscribes webhooks, once a second by default."""

    log = log
    failure = "app trigger round failed"

    async def round(self) -> None:
        await run_due_app_triggers(self.services)


async def run_due_app_triggers(services: Services, limit: int = 20) -> int:
    """Claim due app triggers and work each (poll, subscribe, unsubscribe); returns how many."""
    claimed = await claim_due_app_triggers(services, limit)
    for row in claimed:
        try:
            await work_app_trigger(services, row)
        except Exception as error:  # one broken trigger must not stop the others
            log_database_failure(log, f"app trigger {row.id} failed", error)
    return len(claimed)


async def claim_due_app_triggers(services: Services, limit: int) -> list[Claimed]:
    """Lease up to `limit` due rows to a fresh token (one statement's rows, others skipped)."""
    db, moment, token = services.db, now(), worker_name()
    lease = timedelta(seconds=LEASE_IN_RUN_LEASES * services.settings.lease_s)
    # A paused workflow's polls wait (its row stays due, so resuming polls at once); a row
    # being stopped (no workflow) is still worked, to unsubscribe.
    paused = exists().where(Workflow.id == AppTrigger.workflow_id, Workflow.paused_at.is_not(None))
    stmt = (
        select(AppTrigger)
        .where(AppTrigger.due_at <= moment, ~paused)
        .order_by(AppTrigger.due_at)
        .limit(limit)
    )
    async with db.transaction() as session:
        rows = list(await session.scalars(skipping_taken_rows(stmt, db, of=AppTrigger)))
        for row in rows:
            row.lease_owner = token
            row.due_at = moment + lease
        await session.flush()
        return [
            Claimed(
                row.id, token, row.workflow_id, row.org_id, row.environment,
                row.linked_account_pk, row.app, row.trigger, dict(row.params or {}),
                row.status, dict(row.state or {}),
            )
            for row in rows
        ]  # fmt: skip


async def _fenced(
    services: Services,
    claimed: Claimed,
    write: Callable[[AppTrigger, AsyncSession], Awaitable[None]],
) -> bool:
    """Run `write` on the row in one transaction if the claim still holds (False: it did not).

    The row is read locked (PostgreSQL `FOR UPDATE`; SQLite's write transaction locks all), so
    no other claim or publish changes it between the check and the write."""
    async with services.db.transaction() as session:
        row = await session.scalar(
            select(AppTrigger)
            .where(AppTrigger.id == claimed.id, AppTrigger.lease_owner == claimed.token)
            .with_for_update()
        )
        if row is None:
            return False
        await write(row, session)
        await session.flush()
        return True


def _release(row: AppTrigger, *, after_s: float | None, error: str | None = None) -> None:
    moment = now()
    row.lease_owner = None
    row.updated_at = moment
    row.last_error = error
    # A row stopped while claimed is due at once, so its unsubscribe is not held up.
    if row.status == "stopping" or row.workflow_id is None:
        row.due_at = moment
    else:
        row.due_at = None if after_s is None else moment + timedelta(seconds=after_s)


async def work_app_trigger(services: Services, claimed: Claimed) -> None:
    """Do what one claimed row is due for."""
    try:
        async with services.db.reading() as session:
            definition = await resolve_definition(claimed.org_id, claimed.app, session=session)
    except WeftError as error:
        definition, problem = None, error.message
    else:
        problem = None
    trigger = definition.trigger(claimed.trigger) if definition else None
    if claimed.status == "stopping" or claimed.workflow_id is None:
        await _stop(services, claimed, trigger)
        return
    if definition is None or trigger is None:
        problem = problem or f"app {claimed.app} has no trigger {claimed.trigger!r}"

        async def failed(row: AppTrigger, _: AsyncSession) -> None:
            _release(row, after_s=RETRY_S * 10, error=problem)

        await _fenced(services, claimed, failed)
        return
    if isinstance(trigger, PollingTrigger):
        await poll(services, claimed, definition, trigger)
    else:
        await _start_webhook(services, claimed, trigger)


async def call_action(
    services: Services,
    claimed: Claimed,
    action: str,
    params: dict[str, Any],
    *,
    all_pages: bool = False,
) -> Any:
    """Call one of the app's actions with the linked account's connection; the answer's body
    (with `all_pages`, `{items, pages, more}`).

    The path an app_action node takes (apps.gateway): OAuth2 tokens refreshed on a 401, the
    app's rate limits honoured, its pagination followed."""
    gateway = AppGateway(
        services,
        claimed.org_id,
        claimed.environment,
        claimed.linked_account_pk,
        claimed.workflow_id or "",
    )
    client = await outbound_for(services, claimed.org_id)
    try:
        call = await gateway.call_action(
            claimed.app,
            action,
            params,
            outbound=client,
            all_pages=all_pages,
            max_items=POLL_MAX_ITEMS if all_pages else None,
        )
    except (NodeFailure, OutboundError) as error:
        raise TriggerCallFailed(f"{claimed.app}.{action}: {error}") from error
    return call.output


async def polled_items(
    services: Services, claimed: Claimed, definition: AppDefinition, trigger: PollingTrigger
) -> list[Any]:
    """What one poll lists: every page of a paged list action (up to POLL_MAX_ITEMS), so more
    new items than one page holds are not missed; a single answer's items otherwise."""
    action = definition.action(trigger.action)
    paged = action is not None and definition.pagination_of(action) is not None
    params = {**copy.deepcopy(trigger.params), **claimed.params}
    state = PollState(**claimed.state) if claimed.state else PollState()
    if trigger.cursor_param and state.primed and state.cursor is not None:
        params[trigger.cursor_param] = state.cursor
    body = await call_action(services, claimed, trigger.action, params, all_pages=paged)
    return body["items"] if paged else listed_items(trigger, body)


async def poll(
    services: Services, claimed: Claimed, definition: AppDefinition, trigger: PollingTrigger
) -> int:
    """Poll once; start one run per new item with the state advanced, in one transaction."""
    state = PollState(**claimed.state) if claimed.state else PollState()
    try:
        found, after = new_items(
            trigger, await polled_items(services, claimed, definition, trigger), state
        )
    except (TriggerCallFailed, ValueError) as error:
        message = str(error)

        async def failed(row: AppTrigger, _: AsyncSession) -> None:
            _release(row, after_s=trigger.interval_s, error=message)

        await _fenced(services, claimed, failed)
        return 0
    fired = 0

    async def commit(row: AppTrigger, session: AsyncSession) -> None:
        nonlocal fired
        if row.status != "stopping" and row.workflow_id is not None:
            fired = await _start_item_runs(row, found, session=session)
            row.state = {"primed": after.primed, "cursor": after.cursor, "seen": after.seen}
            row.status, row.kind = "live", "polling"
        _release(row, after_s=trigger.interval_s)
        if fired:
            await wake_workers_in_transaction(session)

    if await _fenced(services, claimed, commit) and fired:
        services.wakeups.work_queued()
    return fired


async def _owner(row: AppTrigger, *, session: AsyncSession) -> tuple[Scope, Workflow] | None:
    found = (
        await session.execute(
            select(Workflow, LinkedAccount)
            .join(LinkedAccount, LinkedAccount.id == Workflow.linked_account_pk)
            .where(Workflow.id == row.workflow_id)
        )
    ).first()
    if found is None or not found[0].published:
        return None
    return account_scope(found[1]), found[0]


async def taken_keys(scope: Scope, keys: list[str], *, session: AsyncSession) -> set[str]:
    """Which of these idempotency keys a run of this linked account already carries."""
    if not keys:
        return set()
    stmt = (
        scoped_select(Execution, scope)
        .where(Execution.idempotency_key.in_(keys))
        .with_only_columns(Execution.idempotency_key)
    )
    return {str(key) for key in await session.scalars(stmt)}


async def _start_item_runs(row: AppTrigger, found: list[Any], *, session: AsyncSession) -> int:
    owner = await _owner(row, session=session)
    if owner is None or not found:
        return 0
    scope, workflow = owner
    keyed = [(run_key("poll", workflow.id, new.key), new.item) for new in found]
    taken = await taken_keys(scope, [key for key, _ in keyed], session=session)
    runs = [
        new_execution(scope, workflow, trigger="app", payload=item, key=key)
        for key, item in keyed
        if key not in taken
    ]
    session.add_all(runs)
    return len(runs)


def _set(params: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path (`config.url`) in a parameters object, making objects on the way."""
    *parents, last = path.split(".")
    target = params
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def _sealing_context(row_id: str) -> str:
    return f"app-trigger:{row_id}"


async def _start_webhook(services: Services, claimed: Claimed, trigger: WebhookTrigger) -> None:
    """Subscribe at the app when it declares how (once); then the row waits for deliveries."""
    sub = trigger.subscribe
    state: dict[str, Any] = {}
    error: str | None = None
    if sub is not None and claimed.status == "starting":
        try:
            state = await _subscribe(services, claimed, sub)
        except TriggerCallFailed as failure:
            error = str(failure)

    async def write(row: AppTrigger, _: AsyncSession) -> None:
        if error is None and row.status == "starting":
            row.state, row.status, row.kind = state, "live", "webhook"
        elif row.status == "stopping" and state:
            row.state = state  # stopped meanwhile: keep the id, so it is unsubscribed
        _release(row, after_s=RETRY_S if error else None, error=error)

    await _fenced(services, claimed, write)


async def _subscribe(services: Services, claimed: Claimed, sub: Subscription) -> dict[str, Any]:
    async with services.db.reading() as session:
        secret_url = await session.scalar(
            select(Workflow.webhook_secret).where(Workflow.id == claimed.workflow_id)
        )
    if not secret_url:
        raise TriggerCallFailed("the workflow has no webhook address")
    params = {
        **sub.params,
        **{k: claimed.params[k] for k in sub.user_params if k in claimed.params},
    }
    _set(params, sub.url_param, hook_url(services, secret_url))
    signing = secrets.token_hex(32) if sub.secret_param else None
    if sub.secret_param and signing:
        _set(params, sub.secret_param, signing)
    answer = await call_action(services, claimed, sub.action, params)
    signing = str(dig(answer, sub.secret_path)) if sub.secret_path else signing
    box = secret_box(services.settings)
    return {
        "subscription_id": str(dig(answer, sub.id_path)),
        "secret_sealed": box.seal(signing, context=_sealing_context(claimed.id))
        if signing
        else None,
    }


def subscription_secret(services: Services, row: AppTrigger) -> str | None:
    """The signing secret a subscription made (apps.trigger_model.SecretSource.subscription)."""
    sealed = (row.state or {}).get("secret_sealed")
    if not sealed:
        return None
    try:
        return secret_box(services.settings).open(sealed, context=_sealing_context(row.id))
    except SecretUnreadable:  # the key changed: as if none were set (deliveries are refused)
        return None


async def _stop(
    services: Services, claimed: Claimed, trigger: PollingTrigger | WebhookTrigger | None
) -> None:
    """Unsubscribe at the app if subscribed, then delete the row (tries a few times)."""
    sub = trigger.subscribe if isinstance(trigger, WebhookTrigger) else None
    subscription_id = claimed.state.get("subscription_id")
    tries = int(claimed.state.get("unsubscribe_tries", 0))
    error = None
    if sub is not None and sub.unsubscribe_action and subscription_id:
        params = {k: claimed.params[k] for k in sub.user_params if k in claimed.params}
        _set(params, sub.unsubscribe_id_param, subscription_id)
        try:
            await call_action(services, claimed, sub.unsubscribe_action, params)
        except TriggerCallFailed as failure:
            error = str(failure)

    async def write(row: AppTrigger, session: AsyncSession) -> None:
        if error is None or tries + 1 >= MAX_UNSUBSCRIBE_TRIES:
            if error:
                log.warning("giving up unsubscribing app trigger %s: %s", row.id, error)
            await session.delete(row)
            return
        row.state = {**(row.state or {}), "unsubscribe_tries": tries + 1}
        _release(row, after_s=RETRY_S, error=error)
        row.due_at = now() + timedelta(seconds=RETRY_S)

    await _fenced(services, claimed, write)
