"""Edits an end customer can trust: a refused token or a network cut loses nothing, a rename
keeps every reference, one undo brings a deleted step back whole."""

from __future__ import annotations

import re

import httpx
import pytest
from e2e_servers import API, EditorTenant
from editor_page import START, EditorSession, click_until_shown, wait_until

pytestmark = pytest.mark.slow

CANVAS_NAMES = """() => [...document.querySelectorAll('[data-testid^="node-"]')]
  .map(e => e.dataset.testid.slice(5)).sort()"""


def edge(source: str, target: str) -> dict:
    return {
        "id": f"e{source}-{target}",
        "source": source,
        "target": target,
        "sourceHandle": None,
        "targetHandle": None,
    }


def org_call(tenant: EditorTenant, path: str, body: dict) -> dict:
    answer = httpx.post(
        tenant.server_url + API + path, headers={"x-api-key": tenant.org_key}, json=body, timeout=30
    )
    answer.raise_for_status()
    return answer.json()


def fresh_token(tenant: EditorTenant) -> str:
    return org_call(tenant, "/session-token", {"linked_account_id": "cust-1"})["token"]


def revoke(tenant: EditorTenant) -> None:
    assert org_call(tenant, "/session-token/revoke", {"token": tenant.token})["revoked"] == 1


def stored_draft(tenant: EditorTenant, workflow_id: str, token: str) -> dict:
    answer = httpx.get(
        f"{tenant.server_url}{API}/workflow/{workflow_id}/edit",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()


def of_type(messages: list[dict], kind: str) -> list[dict]:
    return [m["payload"] for m in messages if m["type"] == kind]


def last_dirty(editor: EditorSession) -> bool | None:
    dirty = of_type(editor.host_messages(), "dirtyChanged")
    return dirty[-1]["dirty"] if dirty else None


def save_state(editor: EditorSession, text: str) -> None:
    editor.frame.get_by_test_id("save-state").filter(has_text=text).wait_for(timeout=20_000)


def test_a_refused_token_keeps_the_pending_edit_until_set_token_saves_it(
    context, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Token refresh", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    editor.wait_for_message("ready")

    revoke(editor_tenant)
    editor.add_step("end")
    editor.frame.get_by_role("heading", name="Your session has ended").wait_for()
    save_state(editor, "Session ended")
    editor.screenshot(artefacts, "trust-token-refused")
    assert last_dirty(editor) is True
    assert of_type(editor.host_messages(), "tokenExpiring") == [{"expired": True}]

    token = fresh_token(editor_tenant)
    editor.page.evaluate(f"sendToEditor('setToken', {{token: {token!r}}})")
    editor.saved()
    draft = stored_draft(editor_tenant, workflow_id, token)
    assert sorted(n["name"] for n in draft["nodes"]) == editor.editor_frame.evaluate(CANVAS_NAMES)
    assert [n["type"] for n in draft["nodes"]] == ["start", "end"]
    wait_until(lambda: last_dirty(editor) is False, message="the host to hear all saved")
    dirty = of_type(editor.host_messages(), "dirtyChanged")
    assert [d["dirty"] for d in dirty] == [True, False], "dirty from the edit until it was saved"
    assert editor.frame.get_by_role("heading", name="Your session has ended").count() == 0
    assert len(of_type(editor.host_messages(), "tokenExpiring")) == 1
    editor.screenshot(artefacts, "trust-token-resumed")

    # A setToken while an edit waits for autosave saves the edit; it never reloads over it.
    editor.add_step("transform")
    newer = fresh_token(editor_tenant)
    editor.page.evaluate(f"sendToEditor('setToken', {{token: {newer!r}}})")
    editor.saved()
    draft = stored_draft(editor_tenant, workflow_id, newer)
    assert [n["type"] for n in draft["nodes"]] == ["start", "end", "transform"]
    editor.node("Transform data").wait_for()


def test_the_error_page_recovers_when_a_valid_token_arrives(
    context, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Opened late", [START])
    page = context.new_page()

    def revoke_then_open(route):
        # The page was served with a good token; it is revoked before the draft is opened.
        revoke(editor_tenant)
        route.continue_()

    page.route(f"**{API}/workflow/{workflow_id}/edit", revoke_then_open, times=1)
    page.goto(host_page.url_for(editor_tenant.editor_url(workflow_id)))
    frame = page.frame_locator("#editor")
    frame.get_by_role("heading", name="This workflow could not be opened").wait_for(timeout=20_000)
    page.screenshot(path=str(artefacts / "trust-open-refused.png"))

    token = fresh_token(editor_tenant)
    page.evaluate(f"sendToEditor('setToken', {{token: {token!r}}})")
    frame.get_by_role("button", name="Publish").wait_for(timeout=20_000)
    frame.get_by_test_id("node-Start").wait_for()
    messages = page.evaluate("window.weftMessages")
    assert len(of_type(messages, "tokenExpiring")) == 1
    assert of_type(messages, "ready")
    page.screenshot(path=str(artefacts / "trust-open-recovered.png"))


def test_a_network_cut_during_edits_loses_nothing(context, host_page, editor_tenant, artefacts):
    workflow_id = editor_tenant.create_workflow("Offline", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    editor.wait_for_message("ready")
    refused_saves: list[str] = []

    def cut(route):
        if route.request.method == "PUT":
            refused_saves.append(route.request.url)
        route.abort("internetdisconnected")

    pattern = re.compile(re.escape(editor_tenant.server_url + API) + ".*")
    editor.page.route(pattern, cut)
    editor.add_step("transform")
    save_state(editor, "Offline")
    editor.add_step("end")
    assert last_dirty(editor) is True
    # Held until the editor has retried a few times on its backoff (about ten seconds).
    # Polled through Playwright, which runs the route handler only while it has control.
    for _ in range(400):
        if len(refused_saves) >= 4:
            break
        editor.page.wait_for_timeout(100)
    assert len(refused_saves) >= 4, refused_saves
    editor.screenshot(artefacts, "trust-offline")
    editor.page.unroute(pattern)

    editor.saved(timeout_s=20)
    draft = stored_draft(editor_tenant, workflow_id, editor_tenant.token)
    assert [n["type"] for n in draft["nodes"]] == ["start", "transform", "end"]
    assert len(draft["edges"]) == 2
    wait_until(lambda: last_dirty(editor) is False, message="the host to hear all saved")


def test_renaming_a_referenced_step_rewrites_references_and_publishes(
    context, host_page, editor_tenant, sink, artefacts
):
    fetch = {
        "id": "2",
        "type": "http",
        "name": "Fetch user",
        "position": {"x": 0, "y": 140},
        "data": {"method": "GET", "url": sink.url + "/users/{{ trigger.user_id }}"},
    }
    notify = {
        "id": "3",
        "type": "http",
        "name": "Notify",
        "position": {"x": 0, "y": 280},
        "data": {"method": "POST", "url": sink.url + "/notify/{{ nodes.fetch_user.status }}"},
    }
    shape = {
        "id": "4",
        "type": "transform",
        "name": "Shape",
        "position": {"x": 0, "y": 420},
        "data": {
            "value": {
                "user": "{{ nodes.fetch_user.body }}",
                "s": "{{ $$.nodes.fetch_user.status }}",
            }
        },
    }
    workflow_id = editor_tenant.create_workflow(
        "Rename", [START, fetch, notify, shape], [edge("1", "2"), edge("2", "3"), edge("3", "4")]
    )
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    name = editor.open_step("Fetch user", "Step name")
    name.select_text()
    name.press_sequentially("Load customer")
    # Applied as typed: the canvas shows it while the field still has focus.
    editor.node("Load customer").wait_for()
    assert editor.editor_frame.evaluate("document.activeElement.id") == "node-name"
    editor.saved()
    editor.screenshot(artefacts, "trust-renamed")

    draft = stored_draft(editor_tenant, workflow_id, editor_tenant.token)
    by_id = {n["id"]: n for n in draft["nodes"]}
    assert by_id["2"]["name"] == "Load customer"
    assert by_id["3"]["data"]["url"].endswith("/notify/{{ nodes.load_customer.status }}")
    assert by_id["4"]["data"]["value"] == {
        "user": "{{ nodes.load_customer.body }}",
        "s": "{{ $$.nodes.load_customer.status }}",
    }
    assert draft["problems"] == []

    editor.frame.get_by_role("button", name="Publish", exact=True).click()
    editor.frame.get_by_role("status").filter(has_text="Published version 1").wait_for()
    assert editor.frame.get_by_role("dialog", name="Publishing needs a few fixes").count() == 0


def test_one_undo_brings_a_deleted_step_back_with_its_connections(
    context, host_page, editor_tenant, artefacts
):
    shape = {
        "id": "2",
        "type": "transform",
        "name": "Shape",
        "position": {"x": 0, "y": 140},
        "data": {"value": {"a": 1}},
    }
    finish = {
        "id": "3",
        "type": "end",
        "name": "Finish",
        "position": {"x": 0, "y": 280},
        "data": {},
    }
    edges = [edge("1", "2"), edge("2", "3")]
    workflow_id = editor_tenant.create_workflow("Undo", [START, shape, finish], edges)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    saves: list[dict] = []
    editor.page.on(
        "request",
        lambda r: (
            saves.append(r.post_data_json)
            if r.method == "PUT" and r.url.endswith("/draft")
            else None
        ),
    )

    editor.open_step("Shape", "Step name")
    editor.node("Shape").focus()
    editor.page.keyboard.press("Delete")
    editor.node("Shape").wait_for(state="detached")
    editor.saved()
    gone = stored_draft(editor_tenant, workflow_id, editor_tenant.token)
    assert [n["id"] for n in gone["nodes"]] == ["1", "3"] and gone["edges"] == []

    editor.page.keyboard.press("Control+z")
    editor.node("Shape").wait_for()
    editor.saved()
    back = stored_draft(editor_tenant, workflow_id, editor_tenant.token)
    assert [n["id"] for n in back["nodes"]] == ["1", "2", "3"]
    assert sorted(e["id"] for e in back["edges"]) == ["e1-2", "e2-3"]
    editor.screenshot(artefacts, "trust-undo-delete")
    # Never saved: the step back without its connections.
    wait_until(lambda: len(saves) >= 2, message="both saves recorded")
    for body in saves:
        if any(n["id"] == "2" for n in body["nodes"]):
            assert len(body["edges"]) == 2, body
    assert editor.console_errors == []


def test_the_preview_follows_the_text_as_typed(context, host_page, editor_tenant, artefacts):
    check = {
        "id": "2",
        "type": "condition",
        "name": "Check",
        "position": {"x": 0, "y": 140},
        "data": {"expression": "trigger.user_id"},
    }
    workflow_id = editor_tenant.create_workflow("Preview", [START, check], [edge("1", "2")])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30_000)

    expression = click_until_shown(
        editor.node("Check"), frame.get_by_role("textbox", name="Expression")
    )
    expression.click()
    preview = frame.get_by_label("Expression preview")
    preview.filter(has_text="42").wait_for()
    for typed, shown in ((" * 2", "84"), (" + 1", "85"), ("0", "94")):
        expression.press("End")
        expression.press_sequentially(typed)
        editor.saved()
        # The answer for the text as it is now, never the one before the last keystroke.
        preview.filter(has_text=re.compile(rf"^Preview\s*{shown}$")).wait_for()
    editor.screenshot(artefacts, "trust-preview")
