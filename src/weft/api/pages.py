"""The human pages: `/` (links), `/docs` and `/redoc`, with their assets served from the package.

The Swagger UI and ReDoc bundles come from the pinned `fastapi-offline` wheel, so the docs work
on a machine with no internet access and load nothing from a CDN.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from weft import __version__
from weft.api.routing import Router

ASSETS_PATH = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

router = Router(tags=["meta"])

_HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Weft</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .2em}}input{{width:100%;margin:.2rem 0}}</style></head>
<body><h1>Weft {version}</h1>
<p>Private workflows, compatible with Refold's public API at <code>/api/v2/public</code>.</p>
<ul>
<li><a href="/docs">API docs</a> (Swagger UI) and <a href="/redoc">ReDoc</a></li>
<li><a href="/openapi.json">OpenAPI schema</a></li>
<li><a href="/healthz">Health</a></li>
</ul>
<h2>Demo editor</h2>
<p><code>weft demo</code> prints a session token for the demo linked account. Give it and a
workflow id to open that workflow in the editor.</p>
<form id="open-editor"><label>Workflow id <input name="workflow" required></label>
<label>Session token <input name="token" required></label>
<button type="submit">Open the editor</button></form>
<script>
document.getElementById("open-editor").addEventListener("submit", function (event) {{
  event.preventDefault();
  var form = event.target;
  location.href = "/workflows/" + encodeURIComponent(form.workflow.value.trim()) +
    "?token=" + encodeURIComponent(form.token.value.trim());
}});
</script></body></html>
"""


@router.get("/", response_class=HTMLResponse, summary="Links to the docs, the editor and health")
async def home() -> HTMLResponse:
    return HTMLResponse(_HOME.format(version=escape(__version__)))


def install_pages(app: FastAPI) -> None:
    """Serve `/`, `/docs` and `/redoc` (create the app with docs_url=None, redoc_url=None)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    app.include_router(router)


# Module-level endpoints reading the app from the request: FastAPI caches what it learns of
# each endpoint by the function's identity (4,096 of them), so closures made per app kept every
# app alive in a process that builds many (each test builds one: ~2 M objects per xdist worker).
@router.get("/docs", include_in_schema=False)
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
    )


@router.get("/redoc", include_in_schema=False)
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} API",
        redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
