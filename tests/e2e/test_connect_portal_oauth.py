"""OAuth in the hosted Connect portal, in a browser, against the local provider's Allow/Deny
page: on a phone (360 px, the page opened on its own) the whole page goes to the provider and
comes back connected, or saying the user denied access; on a desktop whose popups are blocked
it goes by redirect too; framed by the host page, the popup's denied consent is said in place.

Screenshots go to WEFT_PORTAL_OAUTH_SHOTS (default /tmp/portal-oauth-shots)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from e2e_servers import EditorTenant
from editor_page import through_popup, wait_until
from test_connect_portal import PortalHost, mint

pytestmark = pytest.mark.slow

POLLS = re.compile(r".*/application/hubspot$")
SHOTS = Path(os.environ.get("WEFT_PORTAL_OAUTH_SHOTS", "/tmp/portal-oauth-shots"))


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_hubspot(page: Any, tenant: EditorTenant) -> None:
    page.goto(mint(tenant, name="Acme CRM", color="#0f766e", apps=["hubspot", "stripe"]))
    page.get_by_role("button", name="Hubspot").click()
    page.get_by_role("heading", name="Hubspot").wait_for()


def test_on_a_phone_the_portal_connects_by_redirect(browser, editor_tenant, oauth_provider):
    editor_tenant.use_oauth_provider(oauth_provider)
    phone = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
    try:
        page = phone.new_page()
        errors: list[str] = []
        page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
        open_hubspot(page, editor_tenant)
        page.get_by_text("You go to Hubspot to sign in").wait_for()
        assert "token=" not in page.url  # the spent link left the address bar
        shot(page, "1-phone-hubspot")

        # Allow: the provider sends the browser back to the portal, showing Hubspot connected.
        page.get_by_role("button", name="Connect with Hubspot").click()
        page.wait_for_url(f"{oauth_provider.url}/authorize?*")
        shot(page, "2-phone-provider")
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(f"{editor_tenant.server_url}/connect*")
        page.get_by_text("Connected Hubspot.").wait_for()
        page.get_by_role("button", name="Disconnect").wait_for()
        assert "token=" not in page.url
        assert page.title() == "Acme CRM"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shot(page, "3-phone-connected")
        assert editor_tenant.api("GET", "/application/hubspot").json()["connected"] is True

        # Disconnect, then deny: back on the portal, it says so and offers Connect again.
        page.on("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Disconnect").click()
        page.get_by_text("Disconnected Hubspot.").wait_for()
        page.get_by_role("button", name="Connect with Hubspot").click()
        page.get_by_role("button", name="Deny").click()
        said = page.get_by_role("status").filter(has_text="Hubspot was not connected")
        said.wait_for()
        assert "access was not allowed" in said.inner_text()
        page.get_by_role("button", name="Connect with Hubspot").wait_for()
        shot(page, "4-phone-denied")
        assert editor_tenant.api("GET", "/application/hubspot").json()["connected"] is False
        assert errors == []
    finally:
        phone.close()


def test_a_blocked_popup_falls_back_to_the_redirect(browser, editor_tenant, oauth_provider):
    editor_tenant.use_oauth_provider(oauth_provider)
    desktop = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        page = desktop.new_page()
        page.add_init_script("window.open = () => null")  # what a popup blocker does
        open_hubspot(page, editor_tenant)
        page.get_by_text("A window opens").wait_for()
        page.get_by_role("button", name="Connect with Hubspot").click()
        page.get_by_role("button", name="Allow").click()
        page.get_by_text("Connected Hubspot.").wait_for()
        shot(page, "5-desktop-blocked-popup-connected")
    finally:
        desktop.close()


def test_a_framed_portal_says_when_the_popup_was_denied(browser, editor_tenant, oauth_provider):
    editor_tenant.use_oauth_provider(oauth_provider)
    host = PortalHost()
    desktop = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        editor_tenant.allow_origins(host.origin)
        page = desktop.new_page()
        page.goto(host.url_for(mint(editor_tenant, name="Acme CRM", apps=["hubspot"])))
        portal = page.frame_locator("#portal")
        portal.get_by_role("button", name="Hubspot").click()
        connect = portal.get_by_role("button", name="Connect with Hubspot")
        connect.wait_for()
        # The portal's polls of the app are held until the denial has been said: an answer
        # that comes after the callback's message (a busy machine) once overwrote its reason
        # with "the sign-in window was closed".
        held: list[Any] = []
        page.route(POLLS, lambda route: held.append(route))
        with page.expect_popup() as opening:
            connect.click()
        popup = opening.value
        wait_until(lambda: held or page.wait_for_timeout(100), message="a poll in flight")
        with popup.expect_event("close"):
            popup.get_by_role("button", name="Deny").click()
        said = portal.get_by_role("status").filter(has_text="Hubspot was not connected")
        said.wait_for()
        with page.expect_response(POLLS):
            for route in list(held):
                route.continue_()
        page.unroute(POLLS)
        page.wait_for_timeout(500)  # the answer's callback runs at once after its response
        assert "Hubspot was not connected" in portal.get_by_role("status").inner_text()
        assert connect.is_enabled()
        shot(page, "6-framed-popup-denied")

        through_popup(page, connect.click, "Allow")
        portal.get_by_text("Connected Hubspot.").wait_for()
        shot(page, "7-framed-popup-connected")
    finally:
        desktop.close()
        host.close()
