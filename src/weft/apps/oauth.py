"""OAuth2 authorization code with PKCE and state; token refresh and revocation.

The state is random, stored only as a hash, single-use and short-lived; the PKCE verifier is
sealed. Token endpoints are reached through the guarded outbound client like any node call.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_definition
from weft.apps.connections import ConnectionInfo, save_oauth_connection, secret_box
from weft.apps.model import AppDefinition, OAuth2Auth
from weft.apps.org_settings import AppSettings, app_settings
from weft.clock import now
from weft.errors import InvalidInput, WeftError
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import Scope
from weft.store.tables import LinkedAccount, OAuthState
from weft.tenancy.connect_links import PORTAL_PATH
from weft.tenancy.orgs import allowed_origins_of, normalize_origin
from weft.tenancy.secrets import hash_secret, same_hash

CALLBACK_PATH = "/oauth/callback"
# The page the connect call's auth_url opens: it sets the browser's cookie, then on to the
# provider (weft.apps.oauth_browser).
START_PATH = "/oauth/start"
STATE_TTL = timedelta(minutes=15)
# Refresh this long before the provider's expiry, so a call never starts with a dying token.
REFRESH_MARGIN = timedelta(seconds=60)


class OAuthFailed(WeftError):
    status_code = 400
    error_code = "OAUTH_FAILED"


class UnknownState(OAuthFailed):
    """The callback's state is not one Weft issued (or it expired, or was used)."""


class OtherBrowser(OAuthFailed):
    """The callback came to a browser that did not start this connection: nothing is stored."""

    def __init__(self, app_slug: str) -> None:
        super().__init__(
            "This connection was not started in this browser, so nothing was connected. "
            "Start connecting again from your app."
        )
        self.details.update(app_slug=app_slug)


class NotConfigured(WeftError):
    status_code = 400
    error_code = "APP_NOT_CONFIGURED"


@dataclass(frozen=True)
class OAuthClient:
    """Endpoints (with the org's overrides) and the org's client credentials for one app."""

    auth: OAuth2Auth
    authorize_url: str
    token_url: str
    revoke_url: str | None
    client_id: str
    client_secret: str | None


def redirect_uri(settings: Settings) -> str:
    """The callback URL registered with providers."""
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def oauth_client(definition: AppDefinition, overrides: AppSettings) -> OAuthClient:
    """The client for `definition`; 400 when it is not OAuth2 or the org set no client id."""
    auth = definition.auth
    if not isinstance(auth, OAuth2Auth):
        raise InvalidInput(
            f"App {definition.slug} connects with {definition.auth_type}, not oauth2",
            error_code="INVALID_AUTH_TYPE",
        )
    if not overrides.client_id:
        raise NotConfigured(
            f"App {definition.slug} has no OAuth2 client: the org sets client_id and "
            f"client_secret with PUT /api/v2/public/application/{definition.slug}/settings"
        )
    return OAuthClient(
        auth=auth,
        authorize_url=overrides.authorize_url or auth.authorize_url,
        token_url=overrides.token_url or auth.token_url,
        revoke_url=overrides.revoke_url or auth.revoke_url,
        client_id=overrides.client_id,
        client_secret=overrides.client_secret,
    )


async def load_client(
    org_id: str, slug: str, *, session: AsyncSession, settings: Settings
) -> OAuthClient:
    """The OAuth2 client of app `slug` for this org."""
    definition = await resolve_definition(org_id, slug, session=session)
    overrides = await app_settings(org_id, slug, session=session, box=secret_box(settings))
    return oauth_client(definition, overrides)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _is_portal_page(return_url: str, settings: Settings) -> bool:
    """Weft's own Connect portal page: where the portal's redirect flow comes back to."""
    parts, own = urlsplit(return_url), urlsplit(settings.base_url)
    same_origin = (parts.scheme, parts.netloc) == (own.scheme, own.netloc)
    return same_origin and parts.path == own.path.rstrip("/") + PORTAL_PATH and not parts.fragment


async def _check_return_url(
    org_id: str, return_url: str, *, session: AsyncSession, settings: Settings
) -> None:
    """Refuse a return_url off the org's allowed origins (and off Weft's own portal page): the
    callback would redirect anywhere."""
    if _is_portal_page(return_url, settings):
        return
    parts = urlsplit(return_url)
    try:
        if parts.username is not None or parts.password is not None:
            raise InvalidInput("credentials in a URL")
        origin = normalize_origin(f"{parts.scheme}://{parts.netloc}")
    except (InvalidInput, ValueError):
        origin = None
    if origin is None or origin not in await allowed_origins_of(org_id, session=session):
        raise InvalidInput(
            "return_url must be a page on one of the org's allowed origins "
            "(`weft org update --allowed-origin`, or PUT /api/v2/public/org/settings)",
            error_code="RETURN_URL_NOT_ALLOWED",
        )


async def authorize_url(
    scope: Scope,
    slug: str,
    *,
    session: AsyncSession,
    settings: Settings,
    return_url: str | None = None,
) -> str:
    """The URL a browser opens to connect `slug`: Weft's start page, which binds the flow to
    that browser (a cookie) and sends it on to the provider (`provider_url`)."""
    if return_url is not None:
        await _check_return_url(scope.org_id, return_url, session=session, settings=settings)
    await load_client(scope.org_id, slug, session=session, settings=settings)  # configured?
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    moment = now()
    await session.execute(delete(OAuthState).where(OAuthState.expires_at < moment))
    session.add(
        OAuthState(
            state_hash=hash_secret(state),
            org_id=scope.org_id,
            environment=scope.environment,
            linked_account_pk=scope.linked_account_pk,
            app_slug=slug,
            verifier_sealed=secret_box(settings).seal(verifier, context=f"oauth-state:{state}"),
            return_url=return_url,
            expires_at=moment + STATE_TTL,
        )
    )
    await session.flush()
    return settings.base_url.rstrip("/") + START_PATH + "/" + state


def open_verifier(row: OAuthState, state: str, settings: Settings) -> str:
    """The PKCE verifier sealed in the state row of `state`."""
    return secret_box(settings).open(row.verifier_sealed, context=f"oauth-state:{state}")


def provider_url(client: OAuthClient, state: str, verifier: str, settings: Settings) -> str:
    """The provider's authorize URL (state and PKCE challenge inside)."""
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri(settings),
        "state": state,
        **client.auth.authorize_params,
    }
    if client.auth.scopes:
        query["scope"] = client.auth.scope_separator.join(client.auth.scopes)
    if client.auth.pkce:
        query["code_challenge"] = _challenge(verifier)
        query["code_challenge_method"] = "S256"
    separator = "&" if "?" in client.authorize_url else "?"
    return client.authorize_url + separator + urlencode(query)


async def token_request(
    client: OAuthClient, form: dict[str, str], outbound: Any, *, timeout_s: float | None = None
) -> Any:
    """POST to the token endpoint with the client's credentials; the parsed JSON answer."""
    from weft.net import OutboundError  # the net package is heavy; only token calls need it

    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "accept": "application/json",
    }
    body = dict(form)
    if client.auth.token_auth == "client_secret_basic":
        pair = f"{client.client_id}:{client.client_secret or ''}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        body["client_id"] = client.client_id
        if client.client_secret:
            body["client_secret"] = client.client_secret
    try:
        extra = {} if timeout_s is None else {"timeout_s": timeout_s}
        response = await outbound.request(
            "POST", client.token_url, headers=headers, content=urlencode(body), **extra
        )
    except OutboundError as error:
        raise OAuthFailed(f"Token endpoint unreachable: {error.message}") from error
    if response.status >= 400 or not isinstance(response.body, dict):
        # The provider's error code only: its description may echo what was sent.
        code = response.body.get("error") if isinstance(response.body, dict) else None
        raise OAuthFailed(f"Token endpoint answered {response.status} ({code or 'no error code'})")
    token = response.body.get("access_token")
    if not isinstance(token, str) or not token:
        raise OAuthFailed("Token endpoint answered without an access_token")
    return response.body


MAX_EXPIRES_IN_S = 365 * 24 * 3600


def tokens_from(answer: dict[str, Any], auth: OAuth2Auth, previous: dict[str, Any] | None = None):
    """(stored tokens, expiry) from a token answer; a refresh may omit the refresh token."""
    tokens = {
        "access_token": answer["access_token"],
        "refresh_token": answer.get("refresh_token") or (previous or {}).get("refresh_token"),
        "token_type": answer.get("token_type", "Bearer"),
    }
    if auth.base_url_from_token:
        tokens["base_url"] = answer.get(auth.base_url_from_token) or (previous or {}).get(
            "base_url"
        )
    seconds = _seconds(answer.get("expires_in"))
    return tokens, None if seconds is None else now() + timedelta(seconds=seconds)


def _seconds(expires_in: Any) -> float | None:
    """A token answer's `expires_in` as seconds, or None (no known expiry) for what is not a
    positive number: absent, 0 (some providers' "never"), NaN, text. Capped at a year, so a
    provider's 1e20 cannot overflow the clock; the token is then refreshed within the year."""
    if isinstance(expires_in, str):
        try:
            expires_in = float(expires_in)
        except ValueError:
            return None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return None
    if not expires_in > 0:  # NaN too
        return None
    return min(float(expires_in), MAX_EXPIRES_IN_S)


def _bound_to(row: OAuthState, browser_nonce: str | None) -> bool:
    """Whether the browser's cookie holds the nonce the start page bound `row` to."""
    stored = row.browser_hash
    return stored is not None and bool(browser_nonce) and same_hash(stored, browser_nonce or "")


@dataclass(frozen=True)
class Completed:
    """A finished authorization: whose it was and where to send the browser."""

    scope: Scope
    connection: ConnectionInfo
    return_url: str | None


async def complete_authorization(
    state: str,
    code: str,
    *,
    browser_nonce: str | None,
    db: Database,
    settings: Settings,
    outbound: Any,
) -> Completed:
    """Exchange the callback's code for tokens and store the connection (state used once).

    Only in the browser that opened the start page: `browser_nonce` is its cookie. Without
    it, whoever started the flow could have sent its provider URL to someone else, and that
    person's approval would connect their account to the starter's (RFC 9700 4.7)."""
    async with db.transaction() as session:
        row = await session.scalar(
            select(OAuthState).where(OAuthState.state_hash == hash_secret(state))
        )
        if row is None or row.expires_at < now():
            raise UnknownState("Unknown or expired OAuth state; start connecting again")
        await session.delete(row)
        slug, return_url = row.app_slug, row.return_url
        bound = _bound_to(row, browser_nonce)
    if not bound:  # after the commit: the state is spent either way
        raise OtherBrowser(slug)
    async with db.reading() as session:
        account = await session.scalar(
            select(LinkedAccount).where(LinkedAccount.id == row.linked_account_pk)
        )
        if account is None:
            raise OAuthFailed("The linked account no longer exists")
        scope = Scope(row.org_id, row.environment, row.linked_account_pk, account.account_id)
        verifier = open_verifier(row, state, settings)
        client = await load_client(scope.org_id, slug, session=session, settings=settings)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(settings),
    }
    if client.auth.pkce:
        form["code_verifier"] = verifier
    try:
        answer = await token_request(client, form, outbound)
    except OAuthFailed as failure:
        # The callback tells the window that started this, or sends the browser back.
        failure.details.update(app_slug=slug, return_url=return_url)
        raise
    tokens, expires_at = tokens_from(answer, client.auth)
    granted = answer.get("scope")
    async with db.transaction() as session:
        info = await save_oauth_connection(
            scope,
            slug,
            tokens,
            expires_at=expires_at,
            identifier=f"scope: {granted}" if isinstance(granted, str) and granted else None,
            session=session,
            settings=settings,
        )
    return Completed(scope=scope, connection=info, return_url=return_url)


@dataclass(frozen=True)
class Abandoned:
    """An authorization the provider ended without a code: its app and where it came from."""

    app_slug: str
    return_url: str | None


async def abandon_authorization(
    state: str, *, browser_nonce: str | None, db: Database
) -> Abandoned | None:
    """Forget the authorization of `state` (the user denied it, or the provider failed); None
    when the state is unknown or expired. Only its own browser forgets it and is sent back to
    its return_url; another browser just gets the page."""
    async with db.transaction() as session:
        row = await session.scalar(
            select(OAuthState).where(OAuthState.state_hash == hash_secret(state))
        )
        if row is None or row.expires_at < now():
            return None
        if not _bound_to(row, browser_nonce):
            return Abandoned(app_slug=row.app_slug, return_url=None)
        await session.delete(row)
        return Abandoned(app_slug=row.app_slug, return_url=row.return_url)


async def revoke(client: OAuthClient, credentials: dict[str, Any], outbound: Any) -> bool:
    """RFC 7009 revocation of the refresh token (else the access token); best effort."""
    from weft.net import OutboundError

    if not client.revoke_url:
        return False
    token = credentials.get("refresh_token") or credentials.get("access_token")
    if not token:
        return False
    hint = "refresh_token" if credentials.get("refresh_token") else "access_token"
    form = {"token": token, "token_type_hint": hint, "client_id": client.client_id}
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if client.client_secret:
        if client.auth.token_auth == "client_secret_basic":
            pair = f"{client.client_id}:{client.client_secret}".encode()
            headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            form["client_secret"] = client.client_secret
    try:
        response = await outbound.request(
            "POST", client.revoke_url, headers=headers, content=urlencode(form)
        )
    except OutboundError:
        return False
    return response.status < 400
