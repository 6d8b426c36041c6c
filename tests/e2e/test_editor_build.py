"""Building in the editor: palette, data picker, canvas edits, keyboard alone, publishing."""

from __future__ import annotations

import re

import pytest
from editor_page import START, EditorSession, describe

pytestmark = pytest.mark.slow

FOCUSED_NAME = """() => {
  const el = document.activeElement;
  return (el && (el.getAttribute('aria-label') || el.textContent || '')).trim();
}"""


def test_builds_a_branching_workflow_with_the_data_picker_publishes_and_tests_it(
    context, host_page, editor_tenant, sink, artefacts
):
    workflow_id = editor_tenant.create_workflow("Sync new customers", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    editor.wait_for_message("ready")

    # start → http: the URL mixes typed text and a reference picked from the trigger's data.
    editor.add_step("http")
    url = frame.get_by_role("textbox", name="URL")
    url.fill(sink.url + "/users/")
    frame.get_by_role("button", name=re.compile(r"insert trigger\.user_id$")).click()
    assert "{{ trigger.user_id }}" in url.inner_text()

    # http → condition on the http step's status, the reference again from the picker.
    editor.add_step("condition")
    expression = frame.get_by_role("textbox", name="Expression")
    expression.fill("")
    expression.click()
    frame.get_by_role("button", name=re.compile(r"insert nodes\.http_request$")).click()
    expression.press("End")
    expression.press_sequentially(".status = 200")

    # Two branches, each added with the "+" under its labelled handle.
    frame.get_by_role("button", name="Add a step after Condition (true)").click()
    editor.add_step("transform")
    value = frame.get_by_role("textbox", name="Value")
    value.fill('{"found": true, "user": "{{ nodes.http_request.body.received }}"}')
    frame.get_by_role("button", name="Add a step after Condition (false)").click()
    editor.add_step("end")
    editor.saved()
    editor.screenshot(artefacts, "canvas")

    draft = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
    assert sorted(n["type"] for n in draft["nodes"]) == [
        "condition",
        "end",
        "http",
        "start",
        "transform",
    ]
    handles = sorted(e["sourceHandle"] or "" for e in draft["edges"])
    assert handles == ["", "", "false", "true"]
    http = next(n for n in draft["nodes"] if n["type"] == "http")
    assert http["data"]["url"] == sink.url + "/users/{{ trigger.user_id }}"
    assert editor.wait_for_message("draftSaved")

    editor.select("Transform data")
    frame.get_by_role("textbox", name="Value").wait_for()
    editor.screenshot(artefacts, "node-panel")

    frame.get_by_role("button", name="Publish", exact=True).click()
    frame.get_by_text("Published version 1").wait_for()
    assert editor.wait_for_message("published")["payload"]["version"] == 1
    assert editor_tenant.api("GET", f"/workflow/{workflow_id}").json()["current_version"] == 1

    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    assert editor.wait_for_message("runFinished")["payload"]["status"] == "COMPLETED"
    assert [(m, p) for m, p, _ in sink.requests] == [("GET", "/users/42")]
    frame.get_by_role("button", name=re.compile(r"^Open step HTTP request")).click()
    output = frame.get_by_role("region", name="Step HTTP request").get_by_label("Step output")
    assert '"received": "/users/42"' in output.inner_text()
    editor.screenshot(artefacts, "test-results")

    # The condition's expression, previewed by the server against this test run.
    editor.select("Condition")
    frame.get_by_role("textbox", name="Expression").click()
    preview = frame.get_by_label("Expression preview")
    preview.filter(has_text="true").wait_for()

    # Completion offers the upstream steps by the names expressions use.
    expression = frame.get_by_role("textbox", name="Expression")
    expression.press("End")
    expression.press_sequentially(" and nodes.ht")
    completions = frame.locator(".cm-tooltip-autocomplete")
    completions.get_by_text("nodes.http_request.status", exact=True).wait_for()
    assert "nodes.transform_data" not in completions.inner_text()

    assert editor.axe_violations() == [], describe(editor.axe_violations())
    assert editor.console_errors == []
    # Fonts, icons and scripts all come from the two local servers: nothing from elsewhere.
    outside = [u for u in editor.requested if not u.startswith(("http://127.0.0.1:", "data:"))]
    assert outside == []


def test_keyboard_alone_builds_and_publishes_a_three_step_workflow(
    context, host_page, editor_tenant
):
    workflow_id = editor_tenant.create_workflow("Keyboard", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    page = editor.page
    frame = editor.editor_frame

    def focused_name() -> str:
        return frame.evaluate(FOCUSED_NAME)

    # Into the frame with Tab, then "/" jumps to the step search.
    for _ in range(5):
        if frame.evaluate("document.hasFocus()"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("/")
    # The palette takes focus on the next animation frame (it may first have to unfold).
    frame.wait_for_function(f"() => ({FOCUSED_NAME})() === 'Search steps to add'", timeout=10_000)
    page.keyboard.type("transform")
    page.keyboard.press("Enter")

    # The new step is selected and its form opens (a lazily loaded panel: wait for it to be
    # there, as a keyboard user waits to see it, before tabbing): Tab reaches its value field.
    frame.wait_for_function(
        "() => [...document.querySelectorAll('[aria-label]')]"
        ".some(el => el.getAttribute('aria-label') === 'Value')"
    )
    for _ in range(60):
        page.keyboard.press("Tab")
        if focused_name() == "Value":
            break
    assert focused_name() == "Value"
    page.keyboard.type('{"done": true')

    # Back to the search box, and the end step goes after the selected transform.
    for _ in range(60):
        page.keyboard.press("Shift+Tab")
        if focused_name() == "Search steps to add":
            break
    page.keyboard.type("end")
    page.keyboard.press("Enter")
    editor.saved()

    for _ in range(80):
        page.keyboard.press("Shift+Tab")
        if focused_name().startswith("Publish"):
            break
    assert focused_name().startswith("Publish")
    page.keyboard.press("Enter")
    editor.frame.get_by_text("Published version 1").wait_for()
    live = editor_tenant.api("GET", f"/workflow/{workflow_id}").json()
    assert live["current_version"] == 1
    assert sorted(n["type"] for n in live["nodes"]) == ["end", "start", "transform"]


def test_publish_lists_every_problem_and_marks_the_steps(
    context, host_page, editor_tenant, artefacts
):
    broken = {
        "id": "2",
        "type": "condition",
        "name": "Check",
        "position": {"x": 0, "y": 140},
        "data": {"expression": "nodes.nowhere.status = 200"},
    }
    edges = [
        {"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
    ]
    workflow_id = editor_tenant.create_workflow("Broken", [START, broken], edges)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame

    frame.get_by_role("button", name=re.compile(r"^Publish")).click()
    dialog = frame.get_by_role("dialog", name="Publishing needs a few fixes")
    dialog.wait_for()
    assert "Check" in dialog.inner_text()
    editor.screenshot(artefacts, "publish-problems")
    dialog.get_by_role("button", name="Go to step").first.click()
    frame.get_by_role("alert", name="Problems that stop publishing").wait_for()
    assert "problem" in editor.node("Check").inner_text()
    assert editor_tenant.api("GET", f"/workflow/{workflow_id}").json()["current_version"] == 0
    # The refused publish is the only failed request the browser reports.
    assert all("status of 422" in error for error in editor.console_errors), editor.console_errors


def test_copy_paste_undo_and_redo_on_the_canvas(context, host_page, editor_tenant):
    shape = {
        "id": "2",
        "type": "transform",
        "name": "Shape",
        "position": {"x": 0, "y": 140},
        "data": {"value": {"a": 1}},
    }
    edges = [
        {"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
    ]
    workflow_id = editor_tenant.create_workflow("Clipboard", [START, shape], edges)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    page = editor.page

    editor.select("Shape")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    editor.node("Shape 2").wait_for()
    editor.saved()
    names = [
        n["name"] for n in editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()["nodes"]
    ]
    assert sorted(names) == ["Shape", "Shape 2", "Start"]

    editor.frame.get_by_role("button", name="Undo").click()
    editor.node("Shape 2").wait_for(state="detached")
    editor.frame.get_by_role("button", name="Redo").click()
    editor.node("Shape 2").wait_for()
    page.keyboard.press("Delete")
    editor.node("Shape 2").wait_for(state="detached")
    editor.saved()
    names = [
        n["name"] for n in editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()["nodes"]
    ]
    assert sorted(names) == ["Shape", "Start"]

    # "+" on a connection puts the new step in the middle of it.
    editor.frame.get_by_role("button", name="Insert a step here").first.click()
    editor.add_step("delay")
    editor.node("Delay").wait_for()
    editor.saved()
    draft = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
    ids = {n["name"]: n["id"] for n in draft["nodes"]}
    wiring = sorted((e["source"], e["target"]) for e in draft["edges"])
    assert wiring == sorted([(ids["Start"], ids["Delay"]), (ids["Delay"], ids["Shape"])])


def test_discard_throws_the_draft_away_after_a_confirmation(context, host_page, editor_tenant):
    workflow_id = editor_tenant.create_workflow("Throwaway", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    editor.add_step("end")
    editor.saved()
    editor.frame.get_by_role("button", name="Discard").click()
    dialog = editor.frame.get_by_role("dialog", name="Discard the draft?")
    dialog.get_by_role("button", name="Discard draft").click()
    editor.node("End").wait_for(state="detached")
    draft = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
    assert [n["type"] for n in draft["nodes"]] == ["start"]
    assert editor.console_errors == []
