"""`GET /connect?token=…`: the hosted Connect portal a `POST /connect-url` link opens.

Opening the link exchanges it, once, for a page session (a session token of its linked account,
kept in the page's memory only); the page then calls the same public routes as the frontend
SDK (apps, connections, configs), so connecting and disconnecting notify as the SDK does. The
page is self-contained (its script and style are inlined with a nonce; nothing loads from
elsewhere) and framable only by Weft itself and the org's allowed origins.
"""

from __future__ import annotations

import secrets
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from weft.api.deps import DbDep
from weft.api.routing import Router
from weft.clock import isoformat
from weft.tenancy.connect_links import PORTAL_PATH
from weft.tenancy.service import redeem_connect_link
from weft.web.error_pages import LINK_PROBLEMS, MISSING_LINK
from weft.web.page import (
    API_BASE,
    MAX_TOKEN_LENGTH,
    counted_failure,
    error_response,
    script_json,
)

ASSETS = Path(__file__).parent / "portal_assets"
PAGE_SESSION_S = 3600  # how long the page may act for the account once opened

router = Router(tags=["connect portal"])


def portal_csp(allowed_origins: list[str], nonce: str) -> str:
    """Framed only by Weft and the org's allowed origins (as the editor); nothing from outside."""
    ancestors = " ".join(["'self'", *allowed_origins])
    return "; ".join(
        [
            f"frame-ancestors {ancestors}",
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'nonce-{nonce}'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def render_portal(config: dict[str, object], title: str, nonce: str) -> str:
    """The page: its HTML shell with the inlined style, script and configuration."""
    shell = (ASSETS / "portal.html").read_text(encoding="utf-8")
    style = (ASSETS / "portal.css").read_text(encoding="utf-8")
    script = (ASSETS / "portal.js").read_text(encoding="utf-8")
    return (
        shell.replace("{{TITLE}}", escape(title))
        .replace("{{STYLE}}", f'<style nonce="{nonce}">{style}</style>')
        .replace(
            "{{SCRIPT}}",
            f'<script nonce="{nonce}">window.__WEFT_PORTAL__ = {script_json(config)};</script>\n'
            f'<script nonce="{nonce}">{script}</script>',
        )
    )


@router.get(
    PORTAL_PATH,
    response_class=HTMLResponse,
    summary="The hosted Connect portal",
    responses={
        200: {"content": {"text/html": {}}, "description": "The portal page"},
        401: {"content": {"text/html": {}}, "description": "Missing or unknown link"},
        410: {"content": {"text/html": {}}, "description": "Expired or already used link"},
        429: {"content": {"text/html": {}}, "description": "Too many bad links from there"},
    },
)
async def connect_portal(
    request: Request,
    db: DbDep,
    token: Annotated[str | None, Query(description="The link's code from `hosted_url`")] = None,
) -> Response:
    """Open a `POST /connect-url` link (once); see docs/apps.md, "The hosted Connect portal"."""
    if not token:
        return error_response(MISSING_LINK)
    if len(token) > MAX_TOKEN_LENGTH:
        return await counted_failure(request, error_response(LINK_PROBLEMS["unknown"]))
    redeemed = await redeem_connect_link(db, token, session_ttl_s=PAGE_SESSION_S)
    if redeemed.problem or redeemed.token is None or redeemed.scope is None:
        problem = LINK_PROBLEMS[redeemed.problem or "unknown"]
        page = error_response(problem, redeemed.origins)
        return await counted_failure(request, page, redeemed.origins)
    theme = redeemed.theme or {}
    nonce = secrets.token_urlsafe(18)
    config = {
        "apiBase": API_BASE,
        "token": redeemed.token.token,
        "tokenExpiresAt": isoformat(redeemed.token.expires_at),
        "linkedAccountId": redeemed.scope.account_id,
        "apps": redeemed.apps,
        "theme": theme,
    }
    html = render_portal(config, str(theme.get("name") or "Integrations"), nonce)
    headers = {
        "Content-Security-Policy": portal_csp(redeemed.origins, nonce),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(html, headers=headers)
