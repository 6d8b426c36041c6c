"""An end customer's whole story with an app, by mouse and keyboard only: add an app action from
the palette by searching, connect the app inline with a key (from the channel picker's "Connect"),
pick a channel from the options the connected app lists, map a trigger field into the message
with the data picker, watch the draft's problems vanish, test in safe mode, publish, then a real
run reaches the local fake of the app with the picked channel and the trigger's value, and the
run is found in the Runs tab. Screenshots of each step go to the artefacts dir (app-story-*)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from editor_page import START, EditorSession, describe, wait_until

from apps.fake_api import FakeApi

pytestmark = pytest.mark.slow

API_KEY = "chat-key-e2e-4242"
CHANNELS = [
    {"id": "C100", "name": "general"},
    {"id": "C200", "name": "sales-team"},
    {"id": "C300", "name": "support"},
]


def acme_chat(base_url: str) -> dict:
    """An org's own key-based chat app on the local fake; post_message's channel lists the
    account's channels through list_channels."""
    return {
        "slug": "acme-chat",
        "name": "Acme Chat",
        "description": "Team chat: channels and messages",
        "auth": {
            "type": "keybased",
            "fields": [{"name": "api_key", "label": "Acme Chat API key"}],
            "headers": {"authorization": "Bearer {api_key}"},
        },
        "base_url": base_url,
        "actions": [
            {
                "name": "list_channels",
                "label": "List channels",
                "method": "GET",
                "path": "/channels",
                "effect": "read",
                "items": "channels",
            },
            {
                "name": "post_message",
                "label": "Post message",
                "description": "Send a message to a channel",
                "method": "POST",
                "path": "/messages",
                "parameters": {
                    "type": "object",
                    "required": ["channel", "text"],
                    "properties": {
                        "channel": {
                            "type": "string",
                            "x-weft-options": {
                                "action": "list_channels",
                                "value": "id",
                                "label": "name",
                            },
                        },
                        "text": {"type": "string"},
                    },
                },
                "output": {"type": "object", "properties": {"ts": {"type": "string"}}},
                "effect": "write",
            },
        ],
    }


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    server.answer("GET", "/channels", {"channels": CHANNELS})
    server.answer("POST", "/messages", {"ok": True, "ts": "1700000000.1"})
    yield server
    server.close()


def calls(fake: FakeApi, method: str, path: str) -> list:
    return [r for r in fake.requests if r.method == method and r.path == path]


def test_an_end_customer_adds_connects_picks_maps_tests_publishes_and_runs_an_app_action(
    context, host_page, editor_tenant, fake, artefacts
):
    defined = httpx.post(
        editor_tenant.server_url + "/api/v2/public/application",
        json=acme_chat(fake.url),
        headers={"x-api-key": editor_tenant.org_key},
        timeout=30,
    )
    assert defined.status_code == 200, defined.text
    workflow_id = editor_tenant.create_workflow("Tell sales", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame

    def shot(name: str) -> None:
        editor.screenshot(artefacts, f"app-story-{name}")

    # 1. Search the palette across apps and actions; Enter adds the first match.
    search = editor.search()
    search.click()
    search.press_sequentially("acme chat post")
    frame.get_by_role("option", name=re.compile("Post message.*Acme Chat")).wait_for()
    shot("1-palette-search")
    search.press("Enter")
    editor.node("Post message").wait_for()
    editor.saved()

    # 2. Not connected: the channel picker says so and offers the way forward.
    panel = frame.get_by_role("region", name="Step Post message")
    problems = frame.get_by_role("alert", name="Problems that stop publishing")
    problems.filter(has_text="connect Acme Chat").wait_for()
    channel = panel.get_by_role("combobox", name="Channel")
    picker_error = panel.get_by_role("alert").filter(has_text="Connect the app")
    picker_error.wait_for()
    assert calls(fake, "GET", "/channels") == []
    picker_error.scroll_into_view_if_needed()
    shot("2-not-connected")

    # 3. Connect from the picker, with the keyboard: the key form opens, Enter saves.
    connect = picker_error.get_by_role("button", name="Connect")
    connect.focus()
    connect.press("Enter")
    key = frame.get_by_label("Acme Chat API key")
    key.wait_for()
    wait_until(lambda: key.evaluate("e => e === document.activeElement"), message="key focused")
    editor.page.keyboard.type(API_KEY)
    shot("3-connect-form")
    key.press("Enter")
    frame.get_by_test_id("connection-status").filter(has_text="Connected").wait_for()
    problems.filter(has_text="connect Acme Chat").wait_for(state="detached")

    # 4. The channels load from the app with the new connection; type to narrow, pick by keys.
    wait_until(lambda: len(calls(fake, "GET", "/channels")) == 1, message="the channel list")
    assert calls(fake, "GET", "/channels")[0].headers["authorization"] == f"Bearer {API_KEY}"
    channel.click()
    options = panel.get_by_role("listbox", name="Channel choices").get_by_role("option")
    wait_until(lambda: options.count() == 3, message="three channels listed")
    channel.press_sequentially("sal")
    wait_until(lambda: options.count() == 2, message="the list narrowed to sales (+ 'Use')")
    assert options.first.inner_text().startswith("sales-team")
    shot("4-channel-search")
    channel.press("ArrowDown")
    channel.press("ArrowUp")
    channel.press("Enter")
    wait_until(lambda: channel.input_value() == "sales-team", message="the channel picked")
    # Refresh asks the app again (the list is otherwise kept for a minute).
    panel.get_by_role("button", name="Refresh Channel choices").click()
    wait_until(lambda: len(calls(fake, "GET", "/channels")) == 2, message="a refreshed list")

    # 5. Map the trigger's plan into the message with the data picker.
    text = panel.locator("[data-field='f-params.text'] .cm-content")
    text.click()
    text.press_sequentially("New signup on plan ")
    frame.get_by_role("button", name=re.compile(r"^plan")).first.click()
    assert "{{ trigger.plan }}" in text.inner_text()
    editor.saved()
    wait_until(
        lambda: frame.get_by_role("button", name="Publish").inner_text().strip() == "Publish",
        message="the draft's problems to vanish",
    )
    assert problems.count() == 0
    # The preview evaluates the mapping against the sample trigger.
    frame.get_by_label("Expression preview").filter(has_text="New signup on plan pro").wait_for()
    assert editor.axe_violations() == [], describe(editor.axe_violations())
    shot("5-form-filled")

    # 6. Test in safe mode: the message is held back, nothing is posted.
    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    frame.get_by_text("not sent", exact=True).wait_for()
    assert calls(fake, "POST", "/messages") == []
    frame.get_by_role("button", name=re.compile(r"^Open step Post message")).click()
    would_send = frame.get_by_label("Request it would send").inner_text()
    assert "C200" in would_send and "New signup on plan pro" in would_send
    shot("6-safe-test")

    # 7. Publish.
    frame.get_by_role("button", name="Publish").click()
    frame.get_by_role("status").filter(has_text="Published version 1").wait_for()
    shot("7-published")

    # 8. A real run (the SaaS starts it): the picked channel and the trigger's value arrive.
    started = editor_tenant.api(
        "POST", f"/workflow/{workflow_id}/execute", json={"payload": {"plan": "enterprise"}}
    )
    assert started.is_success, started.text
    wait_until(lambda: len(calls(fake, "POST", "/messages")) == 1, message="the posted message")
    sent = calls(fake, "POST", "/messages")[0]
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.json() == {"channel": "C200", "text": "New signup on plan enterprise"}
    execution_id = started.json()["execution_id"]
    wait_until(
        lambda: (
            editor_tenant.api("GET", f"/execution/{execution_id}").json()["status"] == "COMPLETED"
        ),
        message="the run to complete",
    )

    # 9. The run is found in the Runs tab.
    frame.get_by_role("tab", name="Runs").click()
    run = frame.get_by_role("button", name=re.compile(r"^Open run of completed "))
    run.first.wait_for(timeout=30000)
    run.first.click()
    frame.get_by_text("Viewing a run").wait_for()
    shot("8-run-found")
    assert editor.console_errors == []
