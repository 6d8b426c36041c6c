"""What app_action, http (with `connection`) and ai nodes use to reach apps for one run.

The runner builds one gateway per execution; it reads definitions, the org's settings and the
linked account's connection through the database, so nodes themselves never open a session.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import select

from weft.apps.access import ConnectionMissing, Credentials, usable_credentials
from weft.apps.calls import ActionInputError, PreparedRequest, auth_parts, build_request
from weft.apps.catalog import resolve_definition
from weft.apps.client_credentials import uses_client_credentials, with_token
from weft.apps.connections import ConnectionUnreadable, secret_box
from weft.apps.limits import send_limited
from weft.apps.model import AppDefinition
from weft.apps.org_settings import AiSettings, AppSettings, ai_settings, app_settings
from weft.apps.paging import DEFAULT_MAX_ITEMS, Page, collect, walk_pages
from weft.errors import WeftError
from weft.net import OutboundClient, OutboundError, OutboundResponse, is_retryable_status
from weft.nodes.runtime import NodeFailure
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import Scope
from weft.store.tables import App, LinkedAccount, Workflow


class GatewayServices(Protocol):
    """What a gateway uses of the engine's services (apps/ sits below engine/, so not the class)."""

    db: Database
    settings: Settings
    outbound: OutboundClient


class Outbound(Protocol):
    """The org's outbound client a node was given (its policy may differ from the default)."""

    async def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


@dataclass
class ActionCall:
    """What one app_action call gave: its output, the first request (credentials hidden) and
    how many pages it fetched."""

    output: Any
    shown: dict[str, Any]
    pages: int = 1


@dataclass
class AppGateway:
    """App access for one execution: (org, environment, linked account, workflow)."""

    services: GatewayServices
    org_id: str
    environment: str
    linked_account_pk: str
    workflow_id: str
    _scope: Scope | None = None
    _workflow_app: str | None = None
    _definitions: dict[str, AppDefinition] = field(default_factory=dict)

    async def scope(self) -> Scope:
        """The linked account's scope (its string id looked up once)."""
        if self._scope is None:
            async with self.services.db.reading() as session:
                account_id = await session.scalar(
                    select(LinkedAccount.account_id).where(
                        LinkedAccount.id == self.linked_account_pk
                    )
                )
            pk = self.linked_account_pk
            self._scope = Scope(self.org_id, self.environment, pk, account_id or "")
        return self._scope

    async def workflow_app(self) -> str:
        """The slug of the workflow's app: a connected app, or the org's default custom app."""
        if self._workflow_app is None:
            async with self.services.db.reading() as session:
                slug = await session.scalar(
                    select(App.slug)
                    .join(Workflow, Workflow.app_id == App.id)
                    .where(Workflow.id == self.workflow_id)
                )
            self._workflow_app = slug or "custom"
        return self._workflow_app

    async def definition(self, slug: str) -> AppDefinition:
        """The app's definition as this org sees it; NodeFailure when unknown."""
        if slug not in self._definitions:
            try:
                async with self.services.db.reading() as session:
                    found = await resolve_definition(self.org_id, slug, session=session)
            except WeftError as error:
                raise NodeFailure(error.message) from error
            self._definitions[slug] = found
        return self._definitions[slug]

    async def settings_for(self, slug: str) -> AppSettings:
        """The org's overrides for one app."""
        box = secret_box(self.services.settings)
        async with self.services.db.reading() as session:
            return await app_settings(self.org_id, slug, session=session, box=box)

    async def credentials(self, slug: str, *, force_refresh: bool = False) -> Credentials:
        """The linked account's usable credentials; NodeFailure when not connected.

        OAuth2 client-credentials apps get a token fetched with the connection's client id
        and secret (kept in this process until it is due).
        """
        try:
            found = await usable_credentials(
                await self.scope(),
                slug,
                db=self.services.db,
                settings=self.services.settings,
                outbound=self.services.outbound,
                force_refresh=force_refresh,
            )
            definition = await self.definition(slug)
            if not uses_client_credentials(definition):
                return found
            owner = (self.org_id, self.linked_account_pk)
            values = await with_token(
                owner, definition, found.values, self.services.outbound, force_refresh=force_refresh
            )
            return Credentials(found.connection, values)
        except (ConnectionMissing, ConnectionUnreadable) as error:  # the account must act
            raise NodeFailure(error.message, details={"error_code": error.error_code}) from error
        except WeftError as error:
            raise NodeFailure(error.message, retryable=True) from error

    async def prepare(
        self, slug: str, action_name: str, params: dict[str, Any], *, force_refresh: bool = False
    ) -> PreparedRequest:
        """The signed request for one action call."""
        definition = await self.definition(slug)
        action = definition.action(action_name)
        if action is None:
            raise NodeFailure(f"App {slug} has no action {action_name!r}")
        values = None
        if definition.auth_type != "none":
            values = (await self.credentials(slug, force_refresh=force_refresh)).values
        overrides = await self.settings_for(slug)
        try:
            return build_request(definition, action, params, values, base_url=overrides.base_url)
        except ActionInputError as error:
            raise NodeFailure(str(error)) from error

    async def auth_for(self, slug: str) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, query) signing an http node's request with the account's `slug` connection."""
        definition = await self.definition(slug)
        if definition.auth_type == "none":
            return {}, {}
        return auth_parts(definition, (await self.credentials(slug)).values)

    async def ai(self) -> AiSettings:
        """The org's ai endpoint; NodeFailure when it has not set one."""
        box = secret_box(self.services.settings)
        async with self.services.db.reading() as session:
            found = await ai_settings(self.org_id, session=session, box=box)
        if found is None:
            raise NodeFailure(
                "The org has no ai endpoint: set base_url and model with PUT "
                "/api/v2/public/settings/ai"
            )
        return found

    def _deadline(self, step_timeout_s: float | None) -> float:
        limit = step_timeout_s or self.services.settings.node_timeout_s
        return asyncio.get_running_loop().time() + limit

    async def request(
        self,
        app: str | None,
        outbound: Outbound,
        method: str,
        url: str,
        *,
        step_timeout_s: float | None = None,
        **kwargs: Any,
    ) -> OutboundResponse:
        """One request to app `app` (None: the ai endpoint), retried as its rate limit says.

        OutboundError propagates; answers of 400 and more are returned as they are."""
        limit = (await self.definition(app)).rate_limit if app else None
        label = app or "the ai endpoint"

        async def send() -> OutboundResponse:
            response: OutboundResponse = await outbound.request(method, url, **kwargs)
            return response

        deadline = self._deadline(step_timeout_s)
        return await send_limited(send, limit, label=label, deadline=deadline)

    async def _fetch_action(
        self,
        slug: str,
        action_name: str,
        params: dict[str, Any],
        url: str | None,
        *,
        outbound: Outbound,
        timeout_s: float | None,
        deadline: float,
    ) -> tuple[OutboundResponse, PreparedRequest]:
        """One page of an action: rate limits honoured, an OAuth2 401 refreshed once; an error
        answer raises NodeFailure with the response."""
        definition = await self.definition(slug)
        label = f"{slug}.{action_name}"
        refreshed = False
        while True:
            request = await self.prepare(slug, action_name, params, force_refresh=refreshed)
            if url is not None:  # a next-page link: its own query, our credentials
                request = replace(request, url=url, query=dict(request.auth_query))

            async def send(request: PreparedRequest = request) -> OutboundResponse:
                response: OutboundResponse = await outbound.request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    params=request.query,
                    json=request.json,
                    content=request.content,
                    timeout_s=timeout_s,
                )
                return response

            try:
                response = await send_limited(
                    send, definition.rate_limit, label=label, deadline=deadline
                )
            except OutboundError as error:
                raise NodeFailure(
                    error.message, retryable=error.retryable, details={"request": request.shown}
                ) from error
            except NodeFailure as failure:
                failure.details.setdefault("request", request.shown)
                raise
            # An access token revoked or expired early: refresh once and try again.
            if response.status == 401 and definition.auth.type == "oauth2" and not refreshed:
                refreshed = True
                continue
            break
        if response.status >= 400:
            raise NodeFailure(
                f"{label} answered {response.status}",
                retryable=is_retryable_status(response.status),
                details={
                    "request": request.shown,
                    "response": {"status": response.status, "body": response.body},
                },
            )
        return response, request

    async def call_action(
        self,
        slug: str,
        action_name: str,
        params: dict[str, Any],
        *,
        outbound: Outbound,
        timeout_s: float | None = None,
        all_pages: bool = False,
        max_items: int | None = None,
    ) -> ActionCall:
        """Call an action: its response body, or with `all_pages` `{items, pages, more}`."""
        deadline = self._deadline(timeout_s)
        if not all_pages:
            response, request = await self._fetch_action(
                slug,
                action_name,
                params,
                None,
                outbound=outbound,
                timeout_s=timeout_s,
                deadline=deadline,
            )
            return ActionCall(response.body, request.shown)
        sent: list[dict[str, Any]] = []
        pages = self._pages(slug, action_name, params, outbound, timeout_s, deadline, sent)
        output = await collect(await pages, max_items or DEFAULT_MAX_ITEMS)
        return ActionCall(output, sent[0] if sent else {}, output["pages"])

    async def pages(
        self,
        slug: str,
        action_name: str,
        params: dict[str, Any],
        *,
        outbound: Outbound,
        timeout_s: float | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[Page]:
        """A list action's pages, one request each (for callers that stop early: polling)."""
        deadline = self._deadline(timeout_s)
        return await self._pages(
            slug, action_name, params, outbound, timeout_s, deadline, [], max_pages=max_pages
        )

    async def _pages(
        self,
        slug: str,
        action_name: str,
        params: dict[str, Any],
        outbound: Outbound,
        timeout_s: float | None,
        deadline: float,
        sent: list[dict[str, Any]],
        *,
        max_pages: int | None = None,
    ) -> AsyncIterator[Page]:
        definition = await self.definition(slug)
        action = definition.action(action_name)
        if action is None:
            raise NodeFailure(f"App {slug} has no action {action_name!r}")
        paging = definition.pagination_of(action)
        if paging is None or action.items is None:
            raise NodeFailure(f"{slug}.{action_name} does not page: leave all_pages unset")

        async def fetch(page_params: dict[str, Any], url: str | None) -> tuple[Any, str]:
            response, request = await self._fetch_action(
                slug,
                action_name,
                page_params,
                url,
                outbound=outbound,
                timeout_s=timeout_s,
                deadline=deadline,
            )
            sent.append(request.shown)
            return response, request.url

        return walk_pages(
            paging,
            action.items,
            params,
            fetch,
            label=f"{slug}.{action_name}",
            max_pages=max_pages,
        )
