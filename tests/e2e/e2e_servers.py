"""Real servers for the browser tests: Weft under uvicorn, a host page on another origin, a sink."""

from __future__ import annotations

import asyncio
import html
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from apps.oauth_server import OAuthTestServer
from servers import RecordingServer, Request
from weft.app import create_app
from weft.apps.catalog import create_default_app
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import OrgScope
from weft.tenancy.orgs import create_org
from weft.tenancy.tokens import issue_session_token

API = "/api/v2/public"


class WeftServer:
    """`weft serve` in a thread: API, editor page and an in-process worker on 127.0.0.1:0."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.database_url = database_url
        # Bound before the app is made, so its public URL (OAuth callback, portal links) is
        # the one the browser reaches.
        listening = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        settings = Settings(
            database_url=database_url,
            data_dir=data_dir,
            public_url=self.url,
            outbound_allow="127.0.0.1",
            workers=1,
            poll_s=0.05,
            lease_s=5,
        )
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [listening]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the Weft server did not start")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class EditorTenant:
    """An org (with its test key) and one linked account's session token, on a live server."""

    server_url: str
    org_key: str
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call as the linked account."""
        headers = {**self.bearer, **kwargs.pop("headers", {})}
        return httpx.request(
            method, self.server_url + API + path, headers=headers, timeout=30, **kwargs
        )

    def allow_origins(self, *origins: str) -> None:
        """Set the org's allowed_origins (which may frame the editor)."""
        answer = httpx.put(
            self.server_url + API + "/org/settings",
            headers={"x-api-key": self.org_key},
            json={"allowed_origins": list(origins)},
            timeout=30,
        )
        answer.raise_for_status()

    def create_workflow(self, name: str, nodes: list[dict] | None = None, edges=None) -> str:
        """A workflow (its draft holding `nodes`/`edges` when given); returns the workflow id."""
        created = self.api("POST", "/workflow", json={"name": name})
        created.raise_for_status()
        workflow_id = created.json()["workflow"]["associated_workflow"]
        if nodes is not None:
            saved = self.api(
                "PUT", f"/workflow/{workflow_id}/draft", json={"nodes": nodes, "edges": edges or []}
            )
            saved.raise_for_status()
        return workflow_id

    def use_oauth_provider(self, provider: OAuthTestServer, slug: str = "hubspot") -> None:
        """Point the org's OAuth2 app `slug` (HubSpot: PKCE, as the provider wants) at the
        local provider, with its test client."""
        answer = httpx.put(
            f"{self.server_url}{API}/application/{slug}/settings",
            json=provider.app_settings(),
            headers={"x-api-key": self.org_key},
            timeout=30,
        )
        answer.raise_for_status()

    def editor_url(self, workflow_id: str, token: str | None = None) -> str:
        return f"{self.server_url}/workflows/{workflow_id}?token={token or self.token}"


def make_editor_tenant(server: WeftServer) -> EditorTenant:
    """A fresh org and linked account (tests never see each other's rows)."""

    async def build() -> EditorTenant:
        database = Database(server.database_url)
        try:
            async with database.transaction() as session:
                created = await create_org(
                    f"e2e {uuid.uuid4().hex[:6]}",
                    add_default_app=create_default_app,
                    session=session,
                )
                issued = await issue_session_token(
                    OrgScope(created.org.id, "test"),
                    "cust-1",
                    expires_in=3600,
                    max_expires_in=3600,
                    session=session,
                )
        finally:
            await database.dispose()
        return EditorTenant(server.url, created.api_keys["test"], issued.token)

    # Playwright's sync API keeps an event loop running in this thread: build in another one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, build()).result()


HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme CRM · Automations</title>
<link rel="icon" href="data:,">
<style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #eef0f4; }}
  header {{ height: 40px; display: flex; align-items: center; padding: 0 16px; background: #1d2939;
           color: #fff; font-weight: 600; }}
  iframe {{ display: block; border: 0; width: 1280px; height: 800px; background: #fff; }}
</style></head>
<body><header>Acme CRM · Automations</header>
<iframe id="editor" title="Workflow editor" src="{src}"></iframe>
<script>
  window.weftMessages = [];
  const editorOrigin = new URL(document.getElementById("editor").src).origin;
  window.addEventListener("message", (event) => {{
    if (event.origin === editorOrigin && event.data && event.data.source === "weft-editor") {{
      window.weftMessages.push(event.data);
    }}
  }});
  window.sendToEditor = (type, payload) => document.getElementById("editor").contentWindow
    .postMessage({{source: "weft-editor", version: 1, type, payload}}, editorOrigin);
</script></body></html>"""


class HostPage(RecordingServer):
    """The SaaS page embedding the editor: `/?src=<editor url>` on its own 127.0.0.1 origin."""

    content_type = "text/html; charset=utf-8"

    def __init__(self) -> None:
        super().__init__()
        self.origin = self.url

    def respond(self, request: Request) -> tuple[int, Any]:
        src = request.query.get("src", "")
        return 200, HOST_PAGE.format(src=html.escape(src, quote=True)).encode()

    def url_for(self, editor_url: str) -> str:
        return f"{self.origin}/?src={httpx.QueryParams({'x': editor_url})['x']}"


class Sink(RecordingServer):
    """An outside service on 127.0.0.1 that records every request it receives."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []  # method, target, JSON body
        super().__init__()

    def record(self, request: Request) -> None:
        self.requests.append((request.method, request.target, request.json()))

    def respond(self, request: Request) -> tuple[int, Any]:
        return 200, {"ok": True, "received": request.target}
