"""Apps in the editor, as an end customer uses them, by mouse and keyboard only: find an app's
action by searching the palette, connect the app inline with a key, fill the form generated from
the action's schema (a fixed value and a data-picker reference), watch the draft's problems
vanish, test in safe mode, run the step for real against a local fake of the app, publish.
Screenshots of each step go to WEFT_PALETTE_SHOTS (default /tmp/palette-shots)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from editor_page import START, EditorSession, wait_until

from apps.fake_api import FakeApi

pytestmark = pytest.mark.slow

SHOTS = Path(os.environ.get("WEFT_PALETTE_SHOTS", "/tmp/palette-shots"))
API_KEY = "acme-key-e2e-31337"


def acme_crm(base_url: str) -> dict:
    """An org's own key-based app whose API is the local fake."""
    contact = {
        "type": "object",
        "required": ["email"],
        "properties": {
            "email": {"type": "string", "description": "Where the contact gets mail"},
            "name": {"type": "string"},
            "plan": {"type": "string", "enum": ["free", "pro", "enterprise"]},
            "vip": {"type": "boolean", "default": False},
            "seats": {"type": "integer", "minimum": 1},
        },
    }
    return {
        "slug": "acme-crm",
        "name": "Acme CRM",
        "description": "Contacts and deals of Acme's CRM",
        "auth": {
            "type": "keybased",
            "fields": [{"name": "api_key", "label": "Acme API key", "placeholder": "acme-..."}],
            "headers": {"authorization": "Bearer {api_key}"},
        },
        "base_url": base_url,
        "actions": [
            {
                "name": "create_contact",
                "label": "Create contact",
                "description": "Add a person to the CRM",
                "method": "POST",
                "path": "/contacts",
                "parameters": contact,
                "output": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
                },
                "effect": "write",
            },
            {
                "name": "list_deals",
                "label": "List deals",
                "description": "Deals, newest first",
                "method": "GET",
                "path": "/deals",
                "parameters": {"type": "object", "properties": {}},
                "effect": "read",
            },
        ],
    }


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


def shot(editor: EditorSession, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    editor.page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_add_connect_fill_test_and_publish_an_app_action(context, host_page, editor_tenant, fake):
    defined = httpx.post(
        editor_tenant.server_url + "/api/v2/public/application",
        json=acme_crm(fake.url),
        headers={"x-api-key": editor_tenant.org_key},
        timeout=30,
    )
    assert defined.status_code == 200, defined.text
    fake.answer("POST", "/contacts", {"id": "c_1", "email": "ada@example.com"})
    workflow_id = editor_tenant.create_workflow("New signups", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame

    # 1. Search the palette across apps and actions; Enter adds the first match.
    search = editor.find_in_palette("acme create contact", re.compile("Create contact.*Acme CRM"))
    shot(editor, "1-palette-search")
    search.press("Enter")
    step = editor.node("Create contact")
    step.wait_for()
    assert "Acme CRM · Create contact" in step.inner_text()
    editor.saved()

    # 2. The step's problems: not connected, a required field empty.
    panel = frame.get_by_role("region", name="Step Create contact")
    frame.get_by_test_id("connection-status").filter(has_text="Not connected").wait_for()
    problems = frame.get_by_role("alert", name="Problems that stop publishing")
    problems.filter(has_text="connect Acme CRM").wait_for()
    problems.filter(has_text="params.email").wait_for()
    shot(editor, "2-app-step-problems")

    # 3. Connect inline with a key: keyboard only.
    connect = frame.get_by_role("button", name="Connect Acme CRM")
    connect.focus()
    connect.press("Enter")
    key = frame.get_by_label("Acme API key")
    key.wait_for()
    key.press_sequentially(API_KEY)
    shot(editor, "3-connect-form")
    key.press("Enter")
    frame.get_by_test_id("connection-status").filter(has_text="Connected").wait_for()
    problems.filter(has_text="connect Acme CRM").wait_for(state="detached")

    # 4. Fill the form: a fixed email, a choice, and the plan from the trigger via the picker.
    email = panel.locator("[data-field='f-params.email'] .cm-content")
    email.click()
    email.press_sequentially("ada@example.com")
    frame.get_by_role("combobox", name="Vip", exact=True).select_option("true")
    name = panel.locator("[data-field='f-params.name'] .cm-content")
    name.click()
    frame.get_by_role("button", name=re.compile(r"^plan")).first.click()
    assert "{{ trigger.plan }}" in name.inner_text()
    editor.saved()
    wait_until(
        lambda: frame.get_by_role("button", name="Publish").inner_text().strip() == "Publish",
        message="the draft's problems to vanish",
    )
    assert problems.count() == 0
    shot(editor, "4-form-filled")

    # 5. Test in safe mode: the write is held back, nothing reaches the app.
    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    frame.get_by_text("not sent", exact=True).wait_for()
    assert fake.requests == []
    frame.get_by_role("button", name=re.compile(r"^Open step Create contact")).click()
    would_send = frame.get_by_label("Request it would send").inner_text()
    assert "ada@example.com" in would_send and '"pro"' in would_send
    shot(editor, "5-safe-mode")

    # 6. Run it for real against the local fake: the step's button chooses it in the test panel.
    frame.get_by_role("button", name="Run for real…").click()
    frame.get_by_role("button", name="Run test with 1 for real").click()
    wait_until(lambda: len(fake.requests) == 1, message="the call to reach the fake app")
    sent = fake.requests[0]
    assert sent.method == "POST" and sent.path == "/contacts"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.json() == {"email": "ada@example.com", "name": "pro", "vip": True}
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    shot(editor, "6-run-for-real")

    # 7. Publish.
    frame.get_by_role("button", name="Publish").click()
    frame.get_by_role("status").filter(has_text="Published version 1").wait_for()
    shot(editor, "7-published")
    assert editor.console_errors == []


def test_the_palette_works_in_a_narrow_frame_by_keyboard(browser, weft_server, editor_tenant, fake):
    defined = httpx.post(
        editor_tenant.server_url + "/api/v2/public/application",
        json=acme_crm(fake.url),
        headers={"x-api-key": editor_tenant.org_key},
        timeout=30,
    )
    assert defined.status_code == 200, defined.text
    workflow_id = editor_tenant.create_workflow("Narrow", [START])
    narrow = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = narrow.new_page()
        page.goto(editor_tenant.editor_url(workflow_id))
        search = page.get_by_role("combobox", name="Search steps to add")
        search.wait_for(timeout=60000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.keyboard.press("/")
        page.keyboard.type("acme")
        selected = page.get_by_role("option", selected=True)
        selected.filter(has_text="Acme CRM").wait_for()
        assert "2 actions" in selected.inner_text()
        search.press("Enter")
        actions = page.get_by_role("listbox", name="Acme CRM actions")
        actions.get_by_text("Add a person to the CRM").wait_for()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "8-narrow-action-picker.png"))
        page.keyboard.press("Enter")
        page.get_by_test_id("node-Create contact").wait_for()
        page.screenshot(path=str(SHOTS / "9-narrow-added.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        narrow.close()
