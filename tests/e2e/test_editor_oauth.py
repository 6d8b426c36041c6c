"""Connecting an OAuth2 app from the editor, by mouse and keyboard, through the popup, against a
real local authorization server (tests/apps/oauth_server.py, with its Allow/Deny page): an app
step whose Connect opens the provider's consent page, which completes, closes and leaves the step
connected with CONNECTION_REQUIRED gone; denying consent, and closing the window, say so and offer
Connect again; an http step's connection picker (by keyboard, and at 360 px) connects the same
way. Screenshots go to WEFT_OAUTH_SHOTS (default /tmp/oauth-shots)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from e2e_servers import EditorTenant
from editor_page import START, EditorSession, click_until_shown, through_popup, wait_until

pytestmark = pytest.mark.slow

SHOTS = Path(os.environ.get("WEFT_OAUTH_SHOTS", "/tmp/oauth-shots"))
NOT_CONNECTED = re.compile(r"connect Hubspot")


def step(node_id: str, kind: str, name: str, y: int, **data: Any) -> dict:
    return {"id": node_id, "type": kind, "name": name, "position": {"x": 0, "y": y}, "data": data}


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def connected(tenant: EditorTenant) -> bool:
    return bool(tenant.api("GET", "/application/hubspot").json()["connected"])


def test_an_app_step_connects_through_the_oauth_popup(
    context, host_page, editor_tenant, oauth_provider
) -> None:
    editor_tenant.use_oauth_provider(oauth_provider)
    get = step("2", "app_action", "Get contact", 160, app="hubspot", action="get_contact")
    get["data"]["params"] = {"contactId": "7"}
    edges = [{"id": "e1", "source": "1", "target": "2"}]
    workflow_id = editor_tenant.create_workflow("OAuth", [START, get], edges)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    status = frame.get_by_test_id("connection-status")
    editor.open_step("Get contact", "Hubspot connection")
    problems = frame.get_by_role("alert", name="Problems that stop publishing")
    problems.filter(has_text=NOT_CONNECTED).wait_for()
    status.filter(has_text="Not connected").wait_for()
    shot(editor.page, "1-app-step-not-connected")

    # Connect: the popup opens on the provider's consent page; Allow (Enter: it has focus).
    with editor.page.expect_popup() as opening:
        frame.get_by_role("button", name="Connect Hubspot").click()
    popup = opening.value
    allow = popup.get_by_role("button", name="Allow")
    allow.wait_for()
    assert popup.url.startswith(f"{oauth_provider.url}/authorize?")
    frame.get_by_role("status").filter(has_text="Finish connecting Hubspot").wait_for()
    shot(popup, "2-provider-consent")
    shot(editor.page, "3-editor-waiting")
    with popup.expect_event("close"):  # the editor closes it once the callback is done
        allow.press("Enter")

    # The callback closes the loop: the popup closes, the step shows connected, the problem goes.
    status.filter(has_text="Connected").wait_for()
    problems.filter(has_text=NOT_CONNECTED).wait_for(state="detached")
    assert connected(editor_tenant)
    assert oauth_provider.state.grants_seen == ["authorization_code"]
    wait_until(
        lambda: frame.get_by_role("button", name="Publish").inner_text().strip() == "Publish",
        message="the draft's problems to vanish",
    )
    shot(editor.page, "4-app-step-connected")
    assert editor.console_errors == []


def test_denied_or_closed_popups_say_so_and_the_http_picker_connects(
    context, host_page, editor_tenant, oauth_provider
) -> None:
    editor_tenant.use_oauth_provider(oauth_provider)
    call = step("2", "http", "Call CRM", 160, url=f"{oauth_provider.url}/crm/v3/objects/contacts/7")
    edges = [{"id": "e1", "source": "1", "target": "2"}]
    workflow_id = editor_tenant.create_workflow("Signed call", [START, call], edges)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    page = editor.page

    # Pick the connection by keyboard: the picker lists the apps with their state.
    picker = editor.open_step("Call CRM", "App connection")
    assert picker.input_value() == ""
    labels = picker.locator("option").all_inner_texts()
    assert labels[0].startswith("None") and "Hubspot · not connected" in labels
    picker.focus()
    picker.select_option(label="Hubspot · not connected")
    editor.saved()
    problems = frame.get_by_role("alert", name="Problems that stop publishing")
    problems.filter(has_text=NOT_CONNECTED).wait_for()
    frame.get_by_test_id("connection-status").filter(has_text="Not connected").wait_for()
    shot(page, "5-http-picker-not-connected")
    connect = frame.get_by_role("button", name="Connect Hubspot")

    # 1. Deny on the consent page: the editor says why and offers Connect again.
    connect.focus()
    through_popup(page, lambda: connect.press("Enter"), "Deny")
    said = frame.get_by_role("alert").filter(has_text="Hubspot was not connected")
    said.wait_for()
    assert "access was not allowed" in said.inner_text()
    assert connect.is_enabled()
    shot(page, "6-http-consent-denied")
    assert not connected(editor_tenant)

    # 2. Close the window half way: said too, Connect again.
    with page.expect_popup() as opening:
        connect.click()
    popup = opening.value
    popup.get_by_role("button", name="Allow").wait_for()
    popup.close()
    frame.get_by_role("alert").filter(has_text="sign-in window was closed").wait_for()
    assert connect.is_enabled()
    shot(page, "7-http-popup-closed")

    # 3. Allow: connected, and the picker's list says so.
    through_popup(page, connect.click, "Allow")
    frame.get_by_test_id("connection-status").filter(has_text="Connected").wait_for()
    problems.filter(has_text=NOT_CONNECTED).wait_for(state="detached")
    wait_until(
        lambda: "Hubspot · connected" in picker.locator("option").all_inner_texts(),
        message="the picker to show the app connected",
    )
    assert picker.input_value() == "hubspot"
    shot(page, "8-http-connected")
    saved = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
    signed = next(n for n in saved["nodes"] if n["id"] == "2")
    assert signed["data"]["connection"] == "hubspot"  # the stored shape is the app's slug

    # "None" takes the connection off again.
    picker.select_option(label="None: send the request as it is")
    editor.saved()
    saved = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
    assert "connection" not in next(n for n in saved["nodes"] if n["id"] == "2")["data"]
    assert editor.console_errors == []


def test_the_connection_picker_fits_a_narrow_frame(browser, weft_server, editor_tenant) -> None:
    call = step("2", "http", "Call CRM", 160, url="https://api.example.com/x", connection="stripe")
    edges = [{"id": "e1", "source": "1", "target": "2"}]
    workflow_id = editor_tenant.create_workflow("Narrow signed call", [START, call], edges)
    narrow = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = narrow.new_page()
        page.goto(editor_tenant.editor_url(workflow_id))
        page.get_by_role("button", name="Publish").wait_for(timeout=60000)
        picker = page.get_by_label("App connection", exact=True)
        click_until_shown(page.get_by_test_id("node-Call CRM"), picker, timeout_ms=5000)
        picker.scroll_into_view_if_needed()
        page.get_by_role("button", name="Connect Stripe").wait_for()
        assert picker.input_value() == "stripe"
        shot(page, "9-narrow-picker")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        narrow.close()
