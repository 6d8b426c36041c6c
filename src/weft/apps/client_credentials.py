"""OAuth2 client credentials: a token fetched with the connection's client id and secret.

The user types the client id and secret into the connection form (sealed like any key); a call
needs a token, fetched from the token URL and kept in this process until shortly before it
expires. Nothing else is stored: a restart or another process fetches its own.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any

from weft.apps.model import AppDefinition, OAuth2Auth, fill
from weft.apps.oauth import REFRESH_MARGIN, OAuthClient, token_request, tokens_from
from weft.clock import now

# (org, account, slug, client id/secret digest) -> (access token, expires at or None)
_TOKENS: dict[tuple[str, ...], tuple[str, datetime | None]] = {}
_LOCKS: dict[tuple[str, ...], asyncio.Lock] = {}
MAX_CACHED = 10_000


def uses_client_credentials(definition: AppDefinition) -> bool:
    """Whether the app connects with OAuth2 client credentials."""
    auth = definition.auth
    return isinstance(auth, OAuth2Auth) and auth.grant == "client_credentials"


async def with_token(
    owner: tuple[str, str],
    definition: AppDefinition,
    values: dict[str, Any],
    outbound: Any,
    *,
    force_refresh: bool = False,
) -> dict[str, Any]:
    """`values` (a key-based connection's) with an `access_token` for the app's token URL."""
    auth = definition.auth
    assert isinstance(auth, OAuth2Auth)
    fields = dict(values.get("fields") or {})
    secret = f"{fields.get('client_id', '')}\0{fields.get('client_secret', '')}"
    key = (*owner, definition.slug, hashlib.sha256(secret.encode()).hexdigest())
    async with _LOCKS.setdefault(key, asyncio.Lock()):
        cached = _TOKENS.get(key)
        fresh = cached is not None and (cached[1] is None or cached[1] - REFRESH_MARGIN > now())
        if cached is None or force_refresh or not fresh:
            cached = await _fetch(definition, auth, fields, outbound)
            if len(_TOKENS) >= MAX_CACHED:
                _TOKENS.clear()
            _TOKENS[key] = cached
    return {**values, "access_token": cached[0]}


async def _fetch(
    definition: AppDefinition, auth: OAuth2Auth, fields: dict[str, Any], outbound: Any
) -> tuple[str, datetime | None]:
    defaults = {f.name: f.default for f in definition.form_fields if f.default is not None}
    token_url = fill(auth.token_url, defaults | fields)
    client = OAuthClient(
        auth=auth,
        authorize_url="",
        token_url=token_url,
        revoke_url=None,
        client_id=str(fields.get("client_id", "")),
        client_secret=fields.get("client_secret"),
    )
    form = {"grant_type": "client_credentials"}
    if auth.scopes:
        form["scope"] = auth.scope_separator.join(auth.scopes)
    answer = await token_request(client, form, outbound)
    tokens, expires_at = tokens_from(answer, auth)
    return str(tokens["access_token"]), expires_at
