"""The hosted Connect portal in a browser: framed by a host page on an allowed origin, a linked
account connects two key-based apps, fills a text and a map config field, and disconnects.

Screenshots go to /tmp/portal-shots/ (desktop, 360 px wide, and the error page).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_servers import API, EditorTenant, HostPage

from servers import Request

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/portal-shots")

PORTAL_HOST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme CRM · Integrations</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #eef0f4; }}
  header {{ height: 40px; display: flex; align-items: center; padding: 0 16px;
           background: #1d2939; color: #fff; font-weight: 600; }}
  iframe {{ display: block; border: 0; width: 100%; height: calc(100vh - 40px); }}
</style></head>
<body><header>Acme CRM</header>
<iframe id="portal" title="Integrations" src="{src}"></iframe>
</body></html>"""


class PortalHost(HostPage):
    """The SaaS page framing the portal, full width (so narrow viewports reach the portal)."""

    def respond(self, request: Request) -> tuple[int, Any]:
        src = request.query.get("src", "")
        return 200, PORTAL_HOST.format(src=html.escape(src, quote=True)).encode()


def org_call(tenant: EditorTenant, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(
        method,
        tenant.server_url + API + path,
        headers={"x-api-key": tenant.org_key, **kwargs.pop("headers", {})},
        timeout=30,
        **kwargs,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def key_app(slug: str, name: str, description: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": name,
        "description": description,
        "base_url": "http://127.0.0.1:9",
        "auth": {
            "type": "keybased",
            "fields": [{"name": "api_key", "label": "API key"}],
            "headers": {"X-Key": "{api_key}"},
        },
        "actions": [
            {"name": "ping", "label": "Ping", "method": "GET", "path": "/ping", "effect": "read"}
        ],
    }


def set_up_org(tenant: EditorTenant) -> None:
    """Two key-based apps; a public workflow of the first with a text and a map field."""
    org_call(
        tenant, "POST", "/application", json=key_app("crm", "Pipeline CRM", "Contacts and deals")
    )
    org_call(tenant, "POST", "/application", json=key_app("desk", "HelpDesk", "Support tickets"))
    workflow = org_call(tenant, "POST", "/workflow", json={"name": "Push contacts", "slug": "crm"})
    workflow_id = workflow["workflow"]["associated_workflow"]
    org_call(
        tenant,
        "PUT",
        f"/workflow/{workflow_id}/draft",
        json={
            "nodes": [{"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}}],
            "edges": [],
            "settings": {
                "data_slots": [
                    {"name": "channel", "label": "Channel", "field_type": "text"},
                    {
                        "name": "mapping",
                        "label": "Field mapping",
                        "field_type": "map",
                        "labels": [
                            {"name": "Email", "value": "email"},
                            {"name": "Full name", "value": "name"},
                        ],
                        "options": [
                            {"name": "Email address", "value": "email_address"},
                            {"name": "Display name", "value": "display_name"},
                        ],
                    },
                ]
            },
        },
    )
    org_call(tenant, "PUT", f"/workflow/{workflow_id}/publish", json={"published": True})


def mint(tenant: EditorTenant, **theme: Any) -> str:
    body = org_call(
        tenant, "POST", "/connect-url", headers={"linked_account_id": "cust-1"}, json=theme
    )
    return str(body["hosted_url"])


def test_a_framed_portal_connects_two_apps_and_fills_a_config(browser, weft_server, editor_tenant):
    SHOTS.mkdir(parents=True, exist_ok=True)
    host = PortalHost()
    try:
        editor_tenant.allow_origins(host.origin)
        set_up_org(editor_tenant)
        hosted_url = mint(
            editor_tenant,
            color="#0f766e",
            bgColor="#f0fdfa",
            name="Acme CRM",
            apps=["crm", "desk", "stripe"],
        )
        context = browser.new_context(viewport={"width": 1100, "height": 820})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(host.url_for(hosted_url))
        portal = page.frame_locator("#portal")
        portal.get_by_role("heading", name="Acme CRM").wait_for()
        portal.get_by_role("button", name="Pipeline CRM").wait_for()
        page.screenshot(path=str(SHOTS / "01-list.png"))

        # Search narrows the list; the keyboard opens an app.
        portal.get_by_label("Search apps").fill("help")
        assert portal.get_by_role("button", name="Pipeline CRM").count() == 0
        portal.get_by_role("button", name="HelpDesk").focus()
        page.keyboard.press("Enter")
        portal.get_by_label("API key", exact=True).fill("desk-secret-1")
        page.keyboard.press("Enter")
        portal.get_by_text("Connected HelpDesk.").wait_for()
        page.screenshot(path=str(SHOTS / "02-desk-connected.png"))
        portal.get_by_role("button", name="← All apps").click()

        portal.get_by_label("Search apps").fill("")
        portal.get_by_role("button", name="Pipeline CRM").click()
        portal.get_by_label("API key", exact=True).fill("crm-secret-2")
        portal.get_by_role("button", name="Connect", exact=True).click()
        portal.get_by_text("Connected Pipeline CRM.").wait_for()
        portal.get_by_label("Turn on “Push contacts”").check()
        portal.get_by_label("Channel").fill("#sales")
        portal.get_by_role("combobox", name="Field mapping Email").select_option("email_address")
        portal.get_by_role("combobox", name="Field mapping Full name").select_option("display_name")
        portal.get_by_role("button", name="Save settings").click()
        portal.get_by_text("Settings saved.").wait_for()
        page.screenshot(path=str(SHOTS / "03-crm-config.png"), full_page=True)

        as_account = {"x-api-key": editor_tenant.org_key, "linked_account_id": "cust-1"}
        for slug in ("crm", "desk"):
            app = httpx.get(
                f"{editor_tenant.server_url}{API}/application/{slug}",
                headers=as_account,
                timeout=30,
            ).json()
            assert app["connected"] is True, slug
        enabled = httpx.get(
            f"{editor_tenant.server_url}{API}/workflow/enabled",
            headers={**as_account, "slug": "crm"},
            timeout=30,
        ).json()
        assert enabled[0]["data_slots"] == {
            "channel": "#sales",
            "mapping": {"email": "email_address", "name": "display_name"},
        }

        # Disconnect (after confirming), then back to the list with the keyboard.
        page.on("dialog", lambda dialog: dialog.accept())
        portal.get_by_role("button", name="Disconnect").click()
        portal.get_by_text("Disconnected Pipeline CRM.").wait_for()
        page.keyboard.press("Escape")
        portal.get_by_role("button", name="HelpDesk, connected").wait_for()
        assert errors == []
        context.close()

        # 360 px wide: a second link (the first is used up), nothing wider than the screen.
        narrow = browser.new_context(viewport={"width": 360, "height": 740})
        small = narrow.new_page()
        small.goto(host.url_for(mint(editor_tenant, color="#b42318", name="Acme CRM")))
        frame = small.frame_locator("#portal")
        frame.get_by_role("button", name="HelpDesk, connected").wait_for()
        widths = frame.locator("body").evaluate(
            "b => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert widths[0] <= widths[1], widths
        small.screenshot(path=str(SHOTS / "04-narrow-list.png"))
        frame.get_by_role("button", name="Pipeline CRM").click()
        frame.get_by_label("API key", exact=True).wait_for()
        small.screenshot(path=str(SHOTS / "05-narrow-connect.png"))

        # The used link shows a clear page.
        used = narrow.new_page()
        response = used.goto(hosted_url)
        assert response.status == 410
        used.get_by_role("heading", name="This connect link was already used").wait_for()
        used.screenshot(path=str(SHOTS / "06-used-link.png"))
        narrow.close()
    finally:
        host.close()


def test_an_origin_not_allowed_cannot_frame_the_portal(browser, weft_server, editor_tenant):
    stranger = PortalHost()
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(stranger.url_for(mint(editor_tenant)))
        page.wait_for_timeout(1500)
        frames = [f for f in page.frames if f != page.main_frame]
        assert frames
        for frame in frames:
            assert frame.locator("#apps").count() == 0, "the portal rendered in a foreign origin"
        context.close()
    finally:
        stranger.close()
