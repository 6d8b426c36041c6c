"""Connecting apps: key-based forms, the OAuth2 start and callback, disconnect; org settings."""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, field_validator

from weft.api.deps import (
    DbDep,
    OrgScopeDep,
    ScopeDep,
    ServicesDep,
    SettingsDep,
    failed_attempt_refusal,
)
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.apps import service
from weft.apps.access import disconnect
from weft.apps.catalog import ICON_ROUTE, shipped_icon
from weft.apps.connections import ConnectionInfo
from weft.apps.oauth import (
    CALLBACK_PATH,
    START_PATH,
    Completed,
    OAuthFailed,
    OtherBrowser,
    UnknownState,
    abandon_authorization,
    complete_authorization,
)
from weft.apps.oauth_browser import (
    callback_cookie_path,
    cookie_name,
    is_secure,
    start_in_browser,
)
from weft.apps.service import AuthorizationStarted
from weft.errors import NotFound
from weft.store.db import Database, log_database_failure
from weft.tenancy.audit import Actor
from weft.tenancy.service import record_change

log = logging.getLogger("weft.audit")
router = Router(tags=["connections"], responses=ERROR_RESPONSES)
browser_router = Router(tags=["connections"], include_in_schema=True)


class ConnectIn(BaseModel):
    """Key-based: the form's fields under `credentials`. OAuth2: nothing (or a `return_url`)."""

    credentials: dict[str, Any] | None = None
    return_url: str | None = Field(
        None, max_length=2048, description="OAuth2: where the browser goes after the callback"
    )

    @field_validator("return_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # Only web pages: the callback redirects there, so no javascript: or data: URLs.
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("return_url must be an http(s) URL")
        return value


class ConnectionOut(Out):
    slug: str
    auth_type: str
    status: str
    connected: bool
    identifier: str | None
    connected_at: Any = Field(alias="connectedAt")
    expires_at: Any = None

    @classmethod
    def of(cls, info: ConnectionInfo) -> ConnectionOut:
        return cls(
            slug=info.app_slug,
            auth_type=info.auth_type,
            status=info.status,
            connected=not info.reauth_required,
            identifier=info.identifier,
            connected_at=info.created_at,
            expires_at=info.expires_at,
        )


class AuthUrlOut(BaseModel):
    auth_url: str


@router.post(
    "/application/{slug}/connection",
    response_model=ConnectionOut | AuthUrlOut,
    summary="Connect an app for the linked account",
    description="Key-based apps: send `{credentials: {field: value}}`; the answer never holds "
    "them. OAuth2 apps: the answer is `{auth_url}` for the user's browser.",
)
async def connect(
    slug: str, body: ConnectIn, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> ConnectionOut | AuthUrlOut:
    done = await service.connect(
        db,
        scope,
        slug,
        credentials=body.credentials or {},
        return_url=body.return_url,
        settings=settings,
    )
    if isinstance(done, AuthorizationStarted):
        return AuthUrlOut(auth_url=done.auth_url)
    return ConnectionOut.of(done)


@router.delete("/application/{slug}/connection", summary="Disconnect (OAuth2 tokens are revoked)")
async def remove_connection(
    slug: str,
    scope: ScopeDep,
    db: DbDep,
    settings: SettingsDep,
    services: ServicesDep,
) -> dict[str, Any]:
    revoked = await disconnect(scope, slug, db=db, settings=settings, outbound=services.outbound)
    if revoked is None:
        raise NotFound(f"No {slug} connection", error_code="CONNECTION_NOT_FOUND")
    return {"success": True, "revoked": revoked}


@browser_router.get(
    START_PATH + "/{state}",
    summary="The connect call's auth_url: binds the flow to this browser, on to the provider",
    response_class=HTMLResponse,
    responses={
        303: {"description": "On to the provider's authorize page, with the flow's cookie set"},
        400: {"content": {"text/html": {}}, "description": "A page: expired or already used"},
    },
)
async def oauth_start(state: str, db: DbDep, settings: SettingsDep) -> Response:
    try:
        started = await start_in_browser(state, db=db, settings=settings)
    except OAuthFailed as failure:
        return _page("Connection failed", failure.message, 400)
    # no-referrer: the provider need not see this URL (the state is in its own anyway).
    headers = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
    response = RedirectResponse(started.provider_url, status_code=303, headers=headers)
    cookie = started.cookie
    response.set_cookie(
        cookie.name,
        cookie.value,
        max_age=cookie.max_age,
        path=cookie.path,
        secure=cookie.secure,
        httponly=True,
        samesite="lax",
    )
    return response


@browser_router.get(
    CALLBACK_PATH,
    summary="OAuth2 redirect target (the provider sends the user)",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "A page: connected"},
        303: {"description": "Connected: on to the `return_url` the connect call gave"},
        400: {"content": {"text/html": {}}, "description": "A page: why it failed"},
        429: {"content": {"text/html": {}}, "description": "Too many unknown states from there"},
    },
)
async def oauth_callback(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    services: ServicesDep,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    response = await _callback_outcome(request, db, settings, services, state, code, error)
    if state:  # the flow's cookie is spent whatever happened
        response.delete_cookie(
            cookie_name(state),
            path=callback_cookie_path(settings),
            secure=is_secure(settings),
            httponly=True,
            samesite="lax",
        )
    return response


async def _callback_outcome(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    services: ServicesDep,
    state: str,
    code: str,
    error: str,
) -> Response:
    if error or not state or not code:
        # The user denied access, or the provider failed: tell whoever started it.
        reason = error if ERROR_CODE.fullmatch(error) else "no_code" if not error else "failed"
        nonce = request.cookies.get(cookie_name(state)) if state else None
        abandoned = (
            await abandon_authorization(state, browser_nonce=nonce, db=db) if state else None
        )
        if state and abandoned is None and (refused := await _refused(request)):
            return refused
        if abandoned and abandoned.return_url:
            return RedirectResponse(_with_error(abandoned.return_url, reason), status_code=303)
        slug = abandoned.app_slug if abandoned else None
        said = "you did not allow access" if reason == "access_denied" else reason
        message = f"The provider answered: {said}. Close this window and connect again."
        return _outcome_page("Connection failed", message, slug, reason, 400)
    try:
        done = await complete_authorization(
            state,
            code,
            browser_nonce=request.cookies.get(cookie_name(state)),
            db=db,
            settings=settings,
            outbound=services.outbound,
        )
    except OtherBrowser as refused:  # a page, not the starter's return_url: it may be anyone's
        slug = refused.details.get("app_slug")
        return _outcome_page("Not connected", refused.message, slug, "other_browser", 400)
    except OAuthFailed as failure:
        if isinstance(failure, UnknownState) and (refused := await _refused(request)):
            return refused
        back = failure.details.get("return_url")
        if isinstance(back, str):
            return RedirectResponse(_with_error(back, "connection_failed"), status_code=303)
        slug = failure.details.get("app_slug")
        return _outcome_page("Connection failed", failure.message, slug, "connection_failed", 400)
    await _record_connected(db, done)
    if done.return_url:
        return RedirectResponse(done.return_url, status_code=303)
    slug = done.connection.app_slug
    return _outcome_page("Connected", f"{slug} is connected. You may close this window.", slug)


async def _refused(request: Request) -> Response | None:
    """A state Weft never issued counts as a failed credential of the caller's address (a
    guesser's, or a forger's); past that address's allowance, the 429 page."""
    refusal = await failed_attempt_refusal(request)
    if refusal is None:
        return None
    message = "Too many connection attempts that did not work came from your network."
    page = _outcome_page("Too many attempts", message, None, "too_many_attempts", 429)
    page.headers.update(refusal.headers)
    return page


async def _record_connected(db: Database, done: Completed) -> None:
    """The audit row of a connection the callback completed: no API call made this change, so
    the audit middleware never sees it (a lost row is logged, the connection stands)."""
    scope = done.scope
    actor = Actor(scope.org_id, scope.environment, "oauth_callback", scope.account_id)
    try:
        await record_change(
            db,
            actor,
            "complete OAuth connection",
            target={"slug": done.connection.app_slug},
            status=200,
            request_id=None,
        )
    except Exception as error:
        log_database_failure(log, "could not record an audit event for an OAuth callback", error)


# OAuth error codes are short snake_case words (RFC 6749 4.1.2.1); anything else is not echoed.
ERROR_CODE = re.compile(r"[a-z_]{1,64}")


def _with_error(url: str, reason: str) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), ("error", reason)])
    return urlunsplit(parts._replace(query=query))


def _outcome_page(
    title: str, message: str, app_slug: str | None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    """The popup's last page: says the outcome and posts it to the window that opened it (the
    editor or the portal, which match the message to the window they opened)."""
    nonce = secrets.token_urlsafe(18)
    outcome = {"type": "weft-oauth", "app": app_slug, "ok": error is None, "error": error}
    if error is not None:
        outcome["message"] = message
    data = json.dumps(outcome).replace("<", "\\u003c")
    script = (
        f"<script nonce={nonce}>if (window.opener) window.opener.postMessage({data}, '*');</script>"
    )
    csp = f"default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'"
    return _page(title, message, status, script=script, csp=csp)


def _page(
    title: str, message: str, status: int = 200, *, script: str = "", csp: str | None = None
) -> HTMLResponse:
    body = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{script}"
    )
    headers = {"cache-control": "no-store"}
    if csp:
        headers["content-security-policy"] = csp
    return HTMLResponse(body, status_code=status, headers=headers)


@browser_router.get(
    ICON_ROUTE + "/{name}",
    summary="A shipped app icon (SVG)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The icon"}},
)
async def app_icon(name: str) -> Response:
    icon = shipped_icon(name)
    if icon is None:
        raise NotFound(f"Icon {name} not found", error_code="ICON_NOT_FOUND")
    return Response(
        icon, media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"}
    )


class AppSettingsIn(BaseModel):
    """An org's settings for one app: endpoint overrides and its OAuth2 client."""

    base_url: str | None = Field(None, max_length=2048)
    authorize_url: str | None = Field(None, max_length=2048)
    token_url: str | None = Field(None, max_length=2048)
    revoke_url: str | None = Field(None, max_length=2048)
    client_id: str | None = Field(None, max_length=500)
    client_secret: str | None = Field(None, max_length=2000)
    webhook_secret: str | None = Field(
        None, max_length=2000, description="Signing secret of the app's webhooks (app triggers)"
    )


@router.put(
    "/application/{slug}/settings",
    summary="Set the org's base URL override and OAuth2 client for an app (org key)",
)
async def put_app_settings(
    slug: str, body: AppSettingsIn, org: OrgScopeDep, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    return await service.set_app_settings(db, org.org_id, slug, values, settings=settings)


class AiSettingsIn(BaseModel):
    """The org's OpenAI-compatible endpoint for ai nodes."""

    base_url: str | None = Field(
        None, max_length=2048, description="e.g. https://api.openai.com/v1"
    )
    model: str | None = Field(None, max_length=200)
    api_key: str | None = Field(None, max_length=2000)
    timeout_s: float | None = Field(None, gt=0, le=600)


@router.put("/settings/ai", summary="Set the ai node's endpoint (org key)")
async def put_ai_settings(
    body: AiSettingsIn, org: OrgScopeDep, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    return await service.set_ai_settings(db, org.org_id, values, settings=settings)
