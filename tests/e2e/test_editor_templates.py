"""Starting from a template, as an end customer and as a host page (issue #25 item 4).

- The gallery: on an empty canvas "Start from a template", search, the card, its inputs form;
  the new private workflow opens, and the app it needs is offered for connection in place.
- The host: `/workflows/new?template=…&inputs=<base64url JSON>` opens straight on the new
  workflow; `startFromTemplate` by postMessage does the same from an open editor; hostile or
  oversized injected data gets a readable message (the editor's, or the page's), never a blank.
- 360 px wide: the gallery fits, and so does the error.
Screenshots go to the artefacts dir (templates-*)."""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from editor_page import START, EditorSession, wait_until
from test_editor_app_story import API_KEY, acme_chat

from apps.fake_api import FakeApi

pytestmark = pytest.mark.slow

API = "/api/v2/public"
CHAT_INPUTS = {
    "type": "object",
    "required": ["channel"],
    "additionalProperties": False,
    "properties": {
        "channel": {
            "type": "string",
            "title": "Channel ID",
            "description": "Where the greeting goes, such as C100",
            "pattern": "^C[0-9]+$",
            "x-weft-targets": [{"node": "2", "path": "params.channel"}],
        },
        "greeting": {
            "type": "string",
            "title": "Greeting",
            "maxLength": 200,
            "default": "Welcome aboard!",
            "x-weft-targets": [{"node": "2", "path": "params.text"}],
        },
    },
}


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    server.answer("GET", "/channels", {"channels": [{"id": "C100", "name": "general"}]})
    yield server
    server.close()


def org_call(tenant: Any, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(
        method,
        tenant.server_url + API + path,
        json=body,
        headers={"x-api-key": tenant.org_key},
        timeout=30,
    )
    assert answer.is_success, answer.text
    return answer.json() if answer.content else None


def public_workflow(tenant: Any, name: str, slug: str | None, nodes: list[dict]) -> str:
    created = org_call(tenant, "POST", "/workflow", {"name": name, "slug": slug})
    workflow_id = created["workflow"]["associated_workflow"]
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    org_call(tenant, "PUT", f"/workflow/{workflow_id}/draft", {"nodes": nodes, "edges": edges})
    org_call(tenant, "PUT", f"/workflow/{workflow_id}/publish", {"published": True})
    return str(workflow_id)


def offer_templates(tenant: Any, fake: FakeApi) -> None:
    """The org's chat app, and two templates: one posting to chat (with inputs), one without."""
    org_call(tenant, "POST", "/application", acme_chat(fake.url))
    post = {
        "id": "2",
        "type": "app_action",
        "name": "Post message",
        "data": {
            "app": "acme-chat",
            "action": "post_message",
            "params": {"channel": "C1", "text": "placeholder"},
        },
    }
    chat = public_workflow(tenant, "Welcome", "acme-chat", [START, post])
    org_call(
        tenant,
        "POST",
        "/template",
        {
            "key": "chat-welcome",
            "workflow_id": chat,
            "name": "Welcome new customers in chat",
            "description": "Post a greeting to a channel of Acme Chat when you call it.",
            "category": "Chat",
            "icon": "acme-chat",
            "required_apps": ["acme-chat"],
            "inputs": CHAT_INPUTS,
        },
    )
    shape = {"id": "2", "type": "transform", "name": "Shape", "data": {"value": "{{ trigger }}"}}
    report = public_workflow(tenant, "Report", None, [START, shape])
    org_call(
        tenant,
        "POST",
        "/template",
        {
            "key": "nightly-report",
            "workflow_id": report,
            "name": "Shape a report",
            "description": "Turn the payload into a report.",
            "category": "Reporting",
            "icon": "📊",
        },
    )


def encoded(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def framed(host_page: Any, editor_url: str) -> str:
    """The host page framing `editor_url` (whose own query has several parameters)."""
    return f"{host_page.origin}/?src={quote(editor_url, safe='')}"


def start_url(tenant: Any, inputs: str) -> str:
    """The editor address a host opens to start from the chat template with `inputs`."""
    return (
        f"{tenant.server_url}/workflows/new?token={tenant.token}"
        f"&template=chat-welcome&inputs={inputs}"
    )


def draft_of(tenant: Any, workflow_id: str) -> dict:
    answer = tenant.api("GET", f"/workflow/{workflow_id}/edit")
    assert answer.status_code == 200, answer.text
    return answer.json()


def post_params(draft: dict) -> dict:
    return next(n for n in draft["nodes"] if n["id"] == "2")["data"]["params"]


def test_an_end_customer_starts_from_the_gallery_and_connects_the_app_it_needs(
    context, host_page, editor_tenant, fake, artefacts
):
    offer_templates(editor_tenant, fake)
    blank = editor_tenant.create_workflow("Blank", [START])
    editor = EditorSession(context, host_page, editor_tenant, blank)
    frame = editor.frame

    def shot(name: str) -> None:
        editor.screenshot(artefacts, f"templates-{name}")

    frame.get_by_role("button", name="Start from a template").click()
    gallery = frame.get_by_role("region", name="Start from a template")
    cards = gallery.locator(".template-card")
    wait_until(lambda: cards.count() == 2, message="two templates")
    gallery.get_by_role("searchbox", name="Search templates").fill("chat")
    wait_until(lambda: cards.count() == 1, message="the search to narrow")
    card = gallery.get_by_role("button", name=re.compile("Welcome new customers in chat"))
    assert "Acme Chat" in card.inner_text()  # the app it needs
    gallery.get_by_role("button", name="Reporting").click()
    wait_until(lambda: cards.count() == 0, message="the category filter")
    gallery.get_by_role("button", name="All").click()
    shot("1-gallery")

    card.click()
    frame.get_by_label("Channel ID").fill("C200")
    assert frame.get_by_label("Greeting").input_value() == "Welcome aboard!"
    shot("2-inputs")
    frame.get_by_role("button", name="Create workflow").click()

    created = editor.wait_for_message("workflowCreated")["payload"]
    assert created["template"] == "chat-welcome" and created["workflowId"] != blank
    frame.get_by_role("heading", name="Welcome new customers in chat").wait_for()
    prompt = frame.get_by_role("region", name="Apps to connect")
    prompt.get_by_role("button", name="Connect Acme Chat").wait_for()
    shot("3-opened-needs-connection")
    draft = draft_of(editor_tenant, created["workflowId"])
    assert post_params(draft) == {"channel": "C200", "text": "Welcome aboard!"}
    assert draft["scope"] == "private" and draft["linked_account_id"] == "cust-1"

    prompt.get_by_role("button", name="Connect Acme Chat").click()
    frame.get_by_label("Acme Chat API key").fill(API_KEY)
    frame.get_by_label("Acme Chat API key").press("Enter")
    prompt.wait_for(state="detached")
    shot("4-connected")
    assert [p["code"] for p in draft_of(editor_tenant, created["workflowId"])["problems"]] == []
    assert not editor.console_errors, editor.console_errors


def test_a_host_starts_from_a_template_by_url_and_by_message(
    context, host_page, editor_tenant, fake, artefacts
):
    offer_templates(editor_tenant, fake)
    url = start_url(editor_tenant, encoded({"channel": "C300", "greeting": "Hi from the host"}))
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: m.type == "error" and messages.append(m.text))
    page.goto(framed(host_page, url))
    frame = page.frame_locator("#editor")
    frame.get_by_role("button", name="Publish").wait_for(timeout=60000)
    created = wait_for(page, "workflowCreated")
    draft = draft_of(editor_tenant, created["workflowId"])
    assert post_params(draft) == {"channel": "C300", "text": "Hi from the host"}
    # The address names the new workflow: a reload opens it, not a second copy.
    editor_url = page.frame_locator("#editor").locator("body").evaluate("() => location.pathname")
    assert editor_url == f"/workflows/{created['workflowId']}"
    page.screenshot(path=str(artefacts / "templates-5-host-url.png"))

    # From the open editor, by postMessage: another new workflow, opened in place.
    page.evaluate(
        "() => window.sendToEditor('startFromTemplate', "
        "{template: 'chat-welcome', inputs: {channel: 'C100'}})"
    )
    second = wait_for(page, "workflowCreated", after=created["workflowId"])
    assert post_params(draft_of(editor_tenant, second["workflowId"]))["channel"] == "C100"
    # A hostile message: the editor says why and keeps the open workflow a click away.
    page.evaluate(
        "() => window.sendToEditor('startFromTemplate', "
        "{template: 'chat-welcome', inputs: {channel: '<img src=x onerror=alert(1)>'}})"
    )
    failed = wait_for(page, "templateFailed")
    assert "does not match" in failed["message"]
    frame.get_by_test_id("template-error").filter(has_text="does not match").wait_for()
    page.screenshot(path=str(artefacts / "templates-6-host-message-refused.png"))
    frame.get_by_role("button", name="Back to the workflow").click()
    frame.get_by_role("button", name="Publish").wait_for()
    # The refused start's 400 is the browser's only complaint.
    assert all("status of 400" in m for m in messages), messages

    # Hostile links: JSON the template refuses (the editor's message) and data no editor
    # could read (the page's own message). Nothing is created.
    before = len(editor_tenant.api("GET", "/workflow").json()["docs"])
    for inputs, shown in (
        (encoded({"channel": "x" * 5000}), "does not match"),
        (encoded(["not", "an", "object"]), "must be a JSON object"),
        (encoded({"channel": "C1", "extra": 1}), "Additional properties"),
    ):
        page.goto(framed(host_page, start_url(editor_tenant, inputs)))
        page.frame_locator("#editor").get_by_test_id("template-error").filter(
            has_text=shown
        ).wait_for(timeout=60000)
    page.screenshot(path=str(artefacts / "templates-7-host-url-refused.png"))
    page.goto(framed(host_page, start_url(editor_tenant, "A" * 50_000)))
    page.frame_locator("#editor").get_by_role(
        "heading", name="This template link is not valid"
    ).wait_for(timeout=60000)
    page.screenshot(path=str(artefacts / "templates-8-oversized-link.png"))
    assert len(editor_tenant.api("GET", "/workflow").json()["docs"]) == before
    page.close()


def wait_for(page: Any, kind: str, after: str | None = None, timeout_s: float = 20) -> dict:
    """The payload of the host's latest `kind` message (one naming a workflow other than
    `after`, when given)."""
    found: list[dict] = []

    def check() -> bool:
        found[:] = [
            m["payload"]
            for m in page.evaluate("window.weftMessages")
            if m["type"] == kind and (after is None or m["payload"].get("workflowId") != after)
        ]
        return bool(found)

    wait_until(check, timeout_s, f"a {kind} message")
    return found[-1]


def test_the_gallery_and_its_errors_fit_a_phone(
    browser, weft_server, editor_tenant, fake, artefacts
):
    offer_templates(editor_tenant, fake)
    phone = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = phone.new_page()
        page.goto(f"{editor_tenant.server_url}/workflows/new?token={editor_tenant.token}")
        gallery = page.get_by_role("region", name="Start from a template")
        gallery.get_by_role("button", name=re.compile("Shape a report")).wait_for(timeout=60000)
        # The app list has loaded: the card names the app, not its slug.
        gallery.locator(".template-app", has_text="Acme Chat").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(artefacts / "templates-9-phone-gallery.png"), full_page=True)
        gallery.get_by_role("button", name=re.compile("Welcome new customers")).click()
        page.get_by_label("Channel ID").fill("general")
        page.get_by_role("button", name="Create workflow").click()
        page.get_by_role("alert").filter(has_text="does not match").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(artefacts / "templates-10-phone-refused-input.png"))

        hostile = encoded({"channel": "C1", "greeting": "<b>" * 100})
        page.goto(start_url(editor_tenant, hostile))
        page.get_by_test_id("template-error").wait_for(timeout=60000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(artefacts / "templates-11-phone-host-refused.png"))
        page.get_by_role("button", name="Browse the templates").click()
        page.get_by_role("button", name=re.compile("Shape a report")).click()
        page.get_by_role("button", name="Publish").wait_for(timeout=60000)
        page.screenshot(path=str(artefacts / "templates-12-phone-opened.png"))
    finally:
        phone.close()
