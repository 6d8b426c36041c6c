"""Dependencies shared by routers: the app's state (database, settings, engine services), and
the two ways to authenticate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette

from weft.api.client_address import ClientAddresses
from weft.apps.config_options import OptionLoader
from weft.engine.interpreter.outbound import outbound_for
from weft.engine.workers.services import Services
from weft.errors import NotFound, RateLimited, Unauthorized
from weft.settings import Settings
from weft.store.db import Database
from weft.store.pagination import DEFAULT_LIMIT, MAX_LIMIT
from weft.store.scope import OrgScope, PublicScope, Scope
from weft.tenancy import authentication
from weft.tenancy.audit import Actor
from weft.tenancy.rate_limits import Limit, RateLimiter

_api_key = APIKeyHeader(name="x-api-key", auto_error=False, description="Org API key")
_bearer = HTTPBearer(auto_error=False, description="Session token of a linked account")


@dataclass
class AppState:
    """What create_app keeps for its routes: the one object stored on `app.state`."""

    settings: Settings
    db: Database
    services: Services
    rate_limiter: RateLimiter
    client_addresses: ClientAddresses


def install_app_state(app: Starlette, state: AppState) -> None:
    """Keep `state` on `app` for the dependencies below (create_app does this once)."""
    app.state.weft = state


def app_state(app: Starlette) -> AppState:
    """The state create_app installed: the only read of `app.state` in Weft."""
    return app.state.weft  # type: ignore[no-any-return]


# Dependencies are `async def` even when they await nothing: FastAPI runs plain `def` ones in
# a thread pool, a thread hop per request each. They take nothing but the request, so they
# cost the hot routes (execute, webhooks) no more than the attribute read they stand for.
async def get_db(request: Request) -> Database:
    return app_state(request.app).db


async def get_settings(request: Request) -> Settings:
    return app_state(request.app).settings


async def get_services(request: Request) -> Services:
    return app_state(request.app).services


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]


def _remember_org(request: Request, org_id: str) -> None:
    # The CORS middleware grants the response to the origins this org allows (weft.api.cors).
    request.state.org_id = org_id


def _limits(request: Request) -> tuple[RateLimiter, Settings]:
    state = app_state(request.app)
    return state.rate_limiter, state.settings


def source_address(request: Request) -> str:
    """The client address of `request` (forwarded only by WEFT_TRUSTED_PROXIES)."""
    return app_state(request.app).client_addresses.of(request)


# Only failures are counted and refused: an address is shared by everyone behind a proxy, a NAT
# or a load balancer, so a valid credential is served whatever that address's neighbours tried
# (it meets its own key's or token's limit instead). A credential is checked with one indexed
# read of its hash, so checking before refusing costs a refused guesser no more than a 401 did.
async def count_failed_attempt(request: Request) -> None:
    """Count a failed credential (key, token, hook secret, OAuth state) against the request's
    source address; raise `RateLimited` past the allowance."""
    limiter, settings = _limits(request)
    limit = Limit("source address", settings.rate_limit_failed_auth)
    await limiter.hit(limit, source_address(request))


async def failed_attempt_refusal(request: Request) -> RateLimited | None:
    """As `count_failed_attempt`, for pages that answer a person: the refusal, or None."""
    try:
        await count_failed_attempt(request)
    except RateLimited as refusal:
        return refusal
    return None


async def _failed(request: Request) -> Unauthorized:
    """Count a failed authentication against its source address; 429 past the allowance."""
    await count_failed_attempt(request)
    return Unauthorized()


async def count_webhook_call(request: Request, secret: str) -> None:
    """Count a call of a live webhook against that hook's own allowance (429 past it)."""
    limiter, settings = _limits(request)
    await limiter.hit(Limit("webhook", settings.rate_limit_webhook), secret)


async def _count_key(request: Request, api_key: str) -> None:
    limiter, settings = _limits(request)
    await limiter.hit(Limit("API key", settings.rate_limit_api_key), api_key)


async def _count_token(request: Request, token: str) -> None:
    limiter, settings = _limits(request)
    await limiter.hit(Limit("session token", settings.rate_limit_session_token), token)


async def org_scope(
    request: Request, db: DbDep, api_key: Annotated[str | None, Security(_api_key)]
) -> OrgScope:
    """The org (and environment) whose API key signed the request."""
    if not api_key:
        raise await _failed(request)
    scope = await authentication.authenticate_key(db, api_key)
    if scope is None:
        raise await _failed(request)
    await _count_key(request, api_key)
    _remember_org(request, scope.org_id)
    request.state.audit_actor = Actor(scope.org_id, scope.environment, "org_key")
    return scope


LinkedAccountHeader = Annotated[
    str | None,
    Header(
        convert_underscores=False,
        description="With x-api-key: the linked account to act for",
    ),
]


async def account_scope_dep(
    request: Request,
    db: DbDep,
    api_key: Annotated[str | None, Security(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    linked_account_id: LinkedAccountHeader = None,
) -> Scope:
    """The linked account a request acts for: a session token, or an org key naming one."""
    if bearer is not None and not api_key:
        scope = await authentication.authenticate_token(db, bearer.credentials)
        if scope is None:
            raise await _failed(request)
        await _count_token(request, bearer.credentials)
        _remember_org(request, scope.org_id)
        request.state.audit_actor = Actor(
            scope.org_id, scope.environment, "session_token", scope.account_id
        )
        return scope
    if api_key:
        # Proxies such as nginx drop underscore headers; accept the dashed spelling too.
        account_id = linked_account_id or request.headers.get("linked-account-id")
        found = await authentication.authenticate_key_for_account(db, api_key, account_id)
        if found.org is None:
            raise await _failed(request)
        await _count_key(request, api_key)
        _remember_org(request, found.org.org_id)
        if not account_id:
            raise Unauthorized("linked_account_id header is required with x-api-key")
        if found.account is None:
            raise NotFound(
                f"Linked account {account_id} not found",
                error_code="LINKED_ACCOUNT_NOT_FOUND",
            )
        request.state.audit_actor = Actor(
            found.org.org_id, found.org.environment, "org_key", found.account.account_id
        )
        return found.account
    raise await _failed(request)


async def credential_still_valid(request: Request, db: Database) -> bool:
    """Whether the credential that opened a long request (an event stream) still works."""
    api_key = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    return await authentication.credential_works(
        db,
        api_key=api_key,
        bearer=token.strip() if scheme.lower() == "bearer" and token else None,
        query_token=request.query_params.get("token"),  # EventSource streams (?token=)
    )


async def workflow_scope_dep(
    request: Request,
    db: DbDep,
    api_key: Annotated[str | None, Security(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    linked_account_id: LinkedAccountHeader = None,
) -> Scope | PublicScope:
    """Whose workflows a call acts on: a linked account's, or (org key alone) the org's public."""
    if (
        api_key
        and bearer is None
        and not (linked_account_id or request.headers.get("linked-account-id"))
    ):
        org = await org_scope(request, db, api_key)
        return PublicScope(org.org_id, org.environment)
    return await account_scope_dep(request, db, api_key, bearer, linked_account_id)


OrgScopeDep = Annotated[OrgScope, Depends(org_scope)]
ScopeDep = Annotated[Scope, Depends(account_scope_dep)]
WorkflowScopeDep = Annotated[Scope | PublicScope, Depends(workflow_scope_dep)]


class PageParams:
    """`page` (from 1) and `limit` (1..100, default 10) query parameters."""

    def __init__(self, page: int, limit: int) -> None:
        self.page = page
        self.limit = limit


async def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page, from 1")] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Docs per page")] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(page, limit)


PageDep = Annotated[PageParams, Depends(page_params)]


async def stream_scope_dep(
    request: Request,
    db: DbDep,
    api_key: Annotated[str | None, Security(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    token: Annotated[
        str | None,
        Query(
            max_length=512,
            description="Session token, for browsers' EventSource (it cannot send headers)",
        ),
    ] = None,
    linked_account_id: Annotated[str | None, Header(convert_underscores=False)] = None,
) -> Scope:
    """As `account_scope_dep`, also accepting the session token as `?token=` (event streams)."""
    if token and bearer is None and not api_key:
        scope = await authentication.authenticate_token(db, token)
        if scope is None:
            raise await _failed(request)
        await _count_token(request, token)
        return scope
    return await account_scope_dep(request, db, api_key, bearer, linked_account_id)


StreamScopeDep = Annotated[Scope, Depends(stream_scope_dep)]


async def option_loader_dep(scope: ScopeDep, services: ServicesDep) -> OptionLoader:
    """Loads config fields' dynamic options for the caller's linked account, through the org's
    outbound client (its outbound policy, as its runs have)."""
    return OptionLoader(services, await outbound_for(services, scope.org_id), scope)


OptionLoaderDep = Annotated[OptionLoader, Depends(option_loader_dep)]
# For endpoints that authenticate outside a dependency (the MCP protocol's URL token).
failed_authentication = _failed


def config_id_of(request: Request, value: str | None) -> str | None:
    """The `config_id` header's value, or `config-id`'s: proxies such as nginx drop headers
    with underscores, so the dashed spelling is accepted too."""
    return value or request.headers.get("config-id") or None
