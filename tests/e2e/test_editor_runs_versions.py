"""Runs and versions that explain themselves, pinned data and sticky notes (issue #22 point 9)."""

from __future__ import annotations

import re

import pytest
from editor_page import START, EditorSession, describe, wait_until

pytestmark = pytest.mark.slow

SHAPE = {
    "id": "2",
    "type": "transform",
    "name": "Shape",
    "position": {"x": 0, "y": 160},
    "data": {"value": {"id": "{{ trigger.user_id }}"}},
}
EDGES = [{"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}]


# Holds the answers of the runs list's webhook filter until the test releases them.
HOLD_WEBHOOK_ANSWERS = """() => {
  const plain = window.fetch;
  let release;
  const released = new Promise((resolve) => (release = resolve));
  window.__releaseHeld = () => release();
  window.__heldDelivered = false;
  window.fetch = (input, init) => {
    const answer = plain(input, init);
    if (!String(input).includes("trigger_kind=webhook")) return answer;
    return released.then(() => answer).then((response) => {
      setTimeout(() => (window.__heldDelivered = true), 0);
      return response;
    });
  };
}"""


def publish(tenant, workflow_id: str) -> None:
    answer = tenant.api("PUT", f"/workflow/{workflow_id}/publish", json={"published": True})
    assert answer.is_success, answer.text


def draft(tenant, workflow_id: str) -> dict:
    answer = tenant.api("GET", f"/workflow/{workflow_id}/edit")
    assert answer.is_success, answer.text
    return answer.json()


def test_run_rows_show_how_each_run_started_and_filter_and_search(
    context, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Runs told apart", [START, SHAPE], EDGES)
    publish(editor_tenant, workflow_id)
    payloads = [
        {"customer": "acme", "plan": "pro", "password": "hunter2"},
        {"customer": "globex", "plan": "free"},
        {"customer": "initech", "plan": "pro"},
    ]
    ids = []
    for payload in payloads:
        started = editor_tenant.api(
            "POST", f"/workflow/{workflow_id}/execute", json={"payload": payload}
        )
        assert started.is_success, started.text
        ids.append(started.json()["execution_id"])
    wait_until(
        lambda: all(
            editor_tenant.api("GET", f"/execution/{i}").json()["status"] == "COMPLETED" for i in ids
        ),
        message="the runs to complete",
    )

    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    frame.get_by_role("tab", name="Runs").click()
    rows = frame.get_by_role("list", name="Runs of this workflow").get_by_role("listitem")
    rows.nth(2).wait_for(timeout=60000)
    text = frame.get_by_role("list", name="Runs of this workflow").inner_text()
    assert text.count("API call") == 3
    assert 'customer: "globex", plan: "free"' in text
    assert 'password: "[redacted]"' in text and "hunter2" not in text
    editor.screenshot(artefacts, "runs-explained")

    frame.get_by_role("searchbox", name="Search").fill("GLOBEX")
    wait_until(lambda: rows.count() == 1, message="the search to leave one run")
    assert "globex" in rows.first.inner_text()
    editor.screenshot(artefacts, "runs-searched")

    frame.get_by_role("searchbox", name="Search").fill("")
    frame.get_by_role("combobox", name="Started by").select_option("webhook")
    frame.get_by_text("No run matches these filters.").wait_for(timeout=60000)
    frame.get_by_role("combobox", name="Started by").select_option("api")
    wait_until(lambda: rows.count() == 3, message="the three API runs again")

    # Answers out of order: the webhook filter's answer is held until the API filter's has
    # filled the list; arriving last, it must not empty the list the user now asks for.
    inner = editor.editor_frame
    inner.evaluate(HOLD_WEBHOOK_ANSWERS)
    frame.get_by_role("combobox", name="Started by").select_option("webhook")
    frame.get_by_role("combobox", name="Started by").select_option("api")
    wait_until(lambda: rows.count() == 3, message="the API runs while the other answer is held")
    inner.evaluate("() => window.__releaseHeld()")
    wait_until(lambda: inner.evaluate("() => window.__heldDelivered"), message="the held answer")
    editor.page.wait_for_timeout(1000)  # time for the editor to (wrongly) apply it
    assert rows.count() == 3

    # A run id finds its run (the row shows the id's end; the search takes the whole id).
    frame.get_by_role("searchbox", name="Search").fill(ids[0])
    wait_until(lambda: rows.count() == 1, message="the id search")
    assert ids[0][-6:] in rows.first.inner_text()
    violations = editor.axe_violations()
    assert violations == [], describe(violations)
    assert editor.console_errors == []


def test_version_compare_lists_each_changed_field_old_to_new(
    context, host_page, editor_tenant, artefacts
):
    fetch = {
        "id": "3",
        "type": "http",
        "name": "Fetch user",
        "position": {"x": 0, "y": 320},
        "data": {"method": "GET", "url": "https://old.example/users"},
    }
    edges = [*EDGES, {"id": "e2-3", "source": "2", "target": "3"}]
    workflow_id = editor_tenant.create_workflow("Versions", [START, SHAPE, fetch], edges)
    publish(editor_tenant, workflow_id)
    changed = {
        **fetch,
        "name": "Fetch customer",
        "data": {**fetch["data"], "url": "https://new.example/customers"},
    }
    notify = {
        "id": "4",
        "type": "transform",
        "name": "Notify",
        "position": {"x": 0, "y": 480},
        "data": {"value": 1},
    }
    saved = editor_tenant.api(
        "PUT",
        f"/workflow/{workflow_id}/draft",
        json={
            "nodes": [START, changed, notify],
            "edges": [{"source": "1", "target": "3"}, {"source": "3", "target": "4"}],
        },
    )
    assert saved.is_success, saved.text

    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    frame.get_by_role("tab", name="Versions").click()
    frame.get_by_role("button", name="Compare with draft").click()
    changes = frame.get_by_role("region", name="Changes in the draft")
    changes.wait_for(timeout=60000)
    fields = frame.get_by_role("list", name="Fields changed in Fetch customer").inner_text()
    assert re.search(r'name\s*"Fetch user"\s*→\s*becomes\s*"Fetch customer"', fields), fields
    assert re.search(
        r'url\s*"https://old.example/users"\s*→\s*becomes\s*"https://new.example/customers"', fields
    ), fields
    text = changes.inner_text()
    assert "Shape" in text and "removed" in text
    assert "Notify" in text and "added" in text
    assert "+ Fetch customer → Notify" in text and "\u2212 Start → Shape" in text
    editor.screenshot(artefacts, "version-diff")
    violations = editor.axe_violations()
    assert violations == [], describe(violations)
    assert editor.console_errors == []


def test_pinned_data_is_edited_as_json_and_saved_with_the_draft(
    context, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Pinned data", [START, SHAPE], EDGES)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    editor.open_step("Shape", "Step name")
    frame.get_by_role("button", name="Pin data…").click()
    field = frame.get_by_role("textbox", name="Pinned data (JSON)")
    field.fill('{"id": 7, "name": ')
    frame.get_by_text(re.compile(r"This is not valid JSON")).wait_for(timeout=10000)
    assert frame.get_by_role("button", name="Pin this data").is_disabled()
    editor.screenshot(artefacts, "pin-invalid")
    field.fill('{"id": 7, "name": "Ada"}')
    frame.get_by_text("Valid JSON.").wait_for(timeout=10000)
    frame.get_by_role("button", name="Pin this data").click()
    wait_until(lambda: "Pinned" in editor.node("Shape").inner_text(), message="the pin badge")
    editor.saved()
    assert draft(editor_tenant, workflow_id)["pinned"] == {"2": {"id": 7, "name": "Ada"}}

    # Another device: the pin is there, and a test run uses it instead of running the step.
    editor.page.close()
    again = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = again.frame
    wait_until(lambda: "Pinned" in again.node("Shape").inner_text(), message="the pin reloaded")
    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_text("pinned", exact=True).wait_for(timeout=30000)
    again.open_step("Shape", "Step name")
    frame.get_by_role("button", name="Edit pinned data").click()
    field = frame.get_by_role("textbox", name="Pinned data (JSON)")
    assert '"Ada"' in field.inner_text()
    field.fill('{"id": 8}')
    frame.get_by_role("button", name="Save pinned data").click()
    again.saved()
    wait_until(
        lambda: draft(editor_tenant, workflow_id)["pinned"] == {"2": {"id": 8}},
        message="the edited pin saved",
    )
    again.screenshot(artefacts, "pin-saved")
    assert again.console_errors == []


def test_sticky_notes_are_added_edited_moved_deleted_and_never_run(
    context, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Notes", [START, SHAPE], EDGES)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    editor.wait_for_message("ready")

    frame.get_by_role("button", name="Add note").click()
    text = frame.get_by_role("textbox", name="Note text")
    text.wait_for(timeout=10000)
    text.fill("Ask Ops before changing the Shape step")
    editor.saved()
    notes = draft(editor_tenant, workflow_id)["notes"]
    assert [n["text"] for n in notes] == ["Ask Ops before changing the Shape step"]

    # Move it by its head; the new position is saved.
    before = notes[0]["position"]
    head = frame.get_by_test_id("note-note-1").get_by_text("Note", exact=True)
    box = head.bounding_box()
    editor.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    editor.page.mouse.down()
    editor.page.mouse.move(box["x"] + 160, box["y"] + 90, steps=8)
    editor.page.mouse.up()
    wait_until(
        lambda: draft(editor_tenant, workflow_id)["notes"][0]["position"] != before,
        message="the moved note saved",
    )
    editor.screenshot(artefacts, "sticky-note")

    # A note is no step: publishing finds no problem and the run has only the steps.
    frame.get_by_role("button", name=re.compile(r"^Publish")).click()
    frame.get_by_text("Published version 1").wait_for(timeout=60000)
    version = editor_tenant.api("GET", f"/workflow/{workflow_id}/versions/1").json()
    assert [n["id"] for n in version["notes"]] == ["note-1"]
    started = editor_tenant.api("POST", f"/workflow/{workflow_id}/execute", json={"payload": {}})
    run_id = started.json()["execution_id"]
    wait_until(
        lambda: editor_tenant.api("GET", f"/execution/{run_id}").json()["status"] == "COMPLETED",
        message="the run to complete",
    )
    steps = editor_tenant.api("GET", f"/execution/{run_id}").json()["nodes"]
    assert [s["node_id"] for s in steps] == ["1", "2"]

    violations = editor.axe_violations()
    assert violations == [], describe(violations)

    # Deleted with its button, and the delete is one undoable edit.
    frame.get_by_role("button", name="Delete this note").click()
    frame.get_by_role("textbox", name="Note text").wait_for(state="detached", timeout=10000)
    editor.saved()
    assert draft(editor_tenant, workflow_id)["notes"] == []
    editor.page.keyboard.press("Control+z")
    frame.get_by_role("textbox", name="Note text").wait_for(timeout=10000)
    editor.saved()
    assert len(draft(editor_tenant, workflow_id)["notes"]) == 1
    assert editor.console_errors == []
