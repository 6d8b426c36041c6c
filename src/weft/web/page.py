"""`GET /workflows/{id}?token=…`: the editor page, and its bundle under `/editor/assets/`.

The page checks the session token and that the workflow is the token's linked account's, then
serves the Vite build (`dist/index.html`) with the editor's configuration injected. Failures are
HTML pages, because a person, not a program, is looking at this URL.
"""

from __future__ import annotations

import json
import mimetypes
import re
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from weft.api.deps import DbDep, failed_attempt_refusal
from weft.api.routing import Router
from weft.clock import isoformat
from weft.tenancy.service import editor_access
from weft.web.error_pages import (
    BAD_TEMPLATE_START,
    MISSING_TOKEN,
    NO_ACCESS,
    TOKEN_PROBLEMS,
    TOO_MANY_ATTEMPTS,
    PageError,
    render_error_page,
)

DIST_DIR = Path(__file__).parent / "dist"
ASSETS_DIR = DIST_DIR / "assets"
API_BASE = "/api/v2/public"
MAX_TOKEN_LENGTH = 512
# `/workflows/new`: the editor starts a new workflow (a template gallery, or the template the
# host names in `template=` with `inputs=`, base64url JSON), docs/templates.md.
NEW_WORKFLOW = "new"
MAX_INJECTED_CHARS = 43_692  # base64url of 32 KiB, what the API takes as inputs
TEMPLATE_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
INJECTED = re.compile(r"^[A-Za-z0-9_=-]*$")

router = Router(tags=["editor"])

# Shown when the UI bundle has not been built into dist/ (a source checkout without `make ui`).
PLACEHOLDER_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workflow editor</title></head>
<body><main id="root"><h1>Workflow editor</h1>
<p>The editor bundle is not built: run <code>make ui</code>.</p></main></body></html>
"""

# Hashed asset names change with their content, so browsers may keep them for good.
_ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}


def editor_csp(allowed_origins: list[str], nonce: str) -> str:
    """The editor page's policy: framed only by itself and the org's allowed origins."""
    ancestors = " ".join(["'self'", *allowed_origins])
    return "; ".join(
        [
            f"frame-ancestors {ancestors}",
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # React Flow and CodeMirror position elements with inline style attributes.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _page_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",  # the token is in the URL: never pass it on
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def error_response(error: PageError, frame_ancestors: list[str] | None = None) -> HTMLResponse:
    """An error page; framable where the editor would be, so the host shows it, not a blank."""
    ancestors = " ".join(["'self'", *(frame_ancestors or [])])
    csp = (
        f"frame-ancestors {ancestors}; default-src 'none'; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'"
    )
    return HTMLResponse(
        render_error_page(error), status_code=error.status, headers=_page_headers(csp)
    )


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no `</script>`, `<!--` or line separators)."""
    text = json.dumps(value, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def inject_config(index_html: str, config: dict[str, Any], nonce: str) -> str:
    """`index_html` with `window.__WEFT__ = config` set before the bundle's scripts run."""
    tag = f'<script nonce="{nonce}">window.__WEFT__ = {script_json(config)};</script>'
    head_end = index_html.find("</head>")
    if head_end == -1:
        return tag + index_html
    return index_html[:head_end] + tag + "\n" + index_html[head_end:]


def read_index() -> str:
    """The built bundle's index.html, or a placeholder when the bundle is absent."""
    index = DIST_DIR / "index.html"
    return index.read_text(encoding="utf-8") if index.is_file() else PLACEHOLDER_INDEX


@router.get(
    "/workflows/{workflow_id}",
    response_class=HTMLResponse,
    summary="The embeddable editor page",
    responses={
        200: {"content": {"text/html": {}}, "description": "The editor app"},
        400: {"content": {"text/html": {}}, "description": "A template link it cannot use"},
        401: {"content": {"text/html": {}}, "description": "Missing, bad, expired or revoked"},
        403: {"content": {"text/html": {}}, "description": "Absent or another account's"},
        429: {"content": {"text/html": {}}, "description": "Too many bad tokens from there"},
    },
)
async def editor_page(
    request: Request,
    workflow_id: str,
    db: DbDep,
    token: Annotated[
        str | None, Query(description="Session token of the workflow's linked account")
    ] = None,
    template: Annotated[
        str | None, Query(description="With `new`: the template to start from")
    ] = None,
    inputs: Annotated[
        str | None, Query(description="With `template`: its inputs, base64url-encoded JSON")
    ] = None,
) -> Response:
    """Embed with `<iframe src="/workflows/{id}?token={session token}">`; see docs/embedding.md.
    `/workflows/new?token=…` opens the template gallery, `&template=<key>&inputs=<base64url
    JSON>` starts from that template (docs/templates.md)."""
    if not token:
        return error_response(MISSING_TOKEN)
    if len(token) > MAX_TOKEN_LENGTH:
        return await counted_failure(request, error_response(TOKEN_PROBLEMS["unknown"]))
    new = workflow_id == NEW_WORKFLOW
    access = await editor_access(db, token, None if new else workflow_id)
    check, origins = access.token, access.origins
    if check.scope is None:
        problem = TOKEN_PROBLEMS[check.problem or "unknown"]
        return await counted_failure(request, error_response(problem, origins), origins)
    if new and not _fair_start(template, inputs):
        return error_response(BAD_TEMPLATE_START, origins)
    if access.workflow is None and not new:
        return error_response(NO_ACCESS, origins)
    nonce = secrets.token_urlsafe(18)
    config = {
        "workflowId": access.workflow.id if access.workflow else None,
        "template": template if new else None,
        "templateInputs": inputs if new and template else None,
        "apiBase": API_BASE,
        "allowedOrigins": origins,
        "tokenExpiresAt": isoformat(check.expires_at) if check.expires_at else None,
        "environment": check.scope.environment,
        "linkedAccountId": check.scope.account_id,
    }
    html = inject_config(read_index(), config, nonce)
    return HTMLResponse(html, headers=_page_headers(editor_csp(origins, nonce)))


def _fair_start(template: str | None, inputs: str | None) -> bool:
    """A template link the page can hand the editor (the API checks the rest, and the editor
    shows its answer)."""
    if template is None:
        return inputs is None
    if not TEMPLATE_KEY.match(template):
        return False
    return inputs is None or (len(inputs) <= MAX_INJECTED_CHARS and bool(INJECTED.match(inputs)))


async def counted_failure(
    request: Request, page: Response, origins: list[str] | None = None
) -> Response:
    """`page` for a token or link that does not work, counted as the API counts a failed
    credential: past the source address's allowance, a 429 page instead."""
    refusal = await failed_attempt_refusal(request)
    if refusal is None:
        return page
    refused = error_response(TOO_MANY_ATTEMPTS, origins)
    refused.headers.update(refusal.headers)
    return refused


@router.api_route(
    "/editor/assets/{asset_path:path}", methods=["GET", "HEAD"], include_in_schema=False
)
async def editor_asset(asset_path: str) -> Response:
    """A file of the built bundle (content-hashed names, cached for good)."""
    root = ASSETS_DIR.resolve()
    candidate = (root / asset_path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return Response("Not found", status_code=404, media_type="text/plain")
    media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
    if candidate.suffix in (".js", ".mjs"):
        media_type = "text/javascript"
    return FileResponse(candidate, media_type=media_type, headers=_ASSET_HEADERS)
