"""Binding an OAuth2 authorization to the browser that starts it (RFC 9700 4.7).

The connect call (an API call, maybe from an editor in another site's iframe) answers Weft's
start page as `auth_url`. The browser opens it as a first-party navigation (a popup or the
page itself), so the cookie it sets there survives third-party-cookie blocking: a random nonce,
kept in the state row only as a hash. The start page is single-use and sends the browser on to
the provider; the callback stores tokens only for the browser that holds the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from weft.apps.oauth import (
    CALLBACK_PATH,
    STATE_TTL,
    OAuthFailed,
    load_client,
    open_verifier,
    provider_url,
)
from weft.clock import now
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import OAuthState
from weft.tenancy.secrets import hash_secret

COOKIE_PREFIX = "weft_oauth_"


@dataclass(frozen=True)
class BrowserCookie:
    """The cookie the start page sets: only the callback's path ever receives it."""

    name: str
    value: str
    path: str
    secure: bool
    max_age: int


def cookie_name(state: str) -> str:
    """One cookie per authorization, so two apps connected at once in one browser both work."""
    return COOKIE_PREFIX + hashlib.sha256(b"cookie:" + state.encode()).hexdigest()[:20]


def callback_cookie_path(settings: Settings) -> str:
    return urlsplit(settings.base_url).path.rstrip("/") + CALLBACK_PATH


def is_secure(settings: Settings) -> bool:
    return urlsplit(settings.base_url).scheme == "https"


@dataclass(frozen=True)
class BrowserStart:
    """Where the start page sends the browser and the cookie it sets on the way."""

    provider_url: str
    cookie: BrowserCookie


async def start_in_browser(state: str, *, db: Database, settings: Settings) -> BrowserStart:
    """Bind the authorization of `state` to this browser (once) and answer the provider URL."""
    nonce = secrets.token_urlsafe(32)
    async with db.transaction() as session:
        row = await session.scalar(
            select(OAuthState).where(OAuthState.state_hash == hash_secret(state)).with_for_update()
        )
        if row is None or row.expires_at < now() or row.browser_hash is not None:
            raise OAuthFailed(
                "This connect link has expired or was already opened. "
                "Start connecting again from your app."
            )
        row.browser_hash = hash_secret(nonce)
        client = await load_client(row.org_id, row.app_slug, session=session, settings=settings)
        verifier = open_verifier(row, state, settings)
    cookie = BrowserCookie(
        name=cookie_name(state),
        value=nonce,
        path=callback_cookie_path(settings),
        secure=is_secure(settings),
        max_age=int(STATE_TTL.total_seconds()),
    )
    return BrowserStart(provider_url(client, state, verifier, settings), cookie)
