"""Keyboard and wording: after a step is added from the palette the focus is on the canvas (the
next Ctrl+Z undoes the insert), Ctrl+A selects every step, "?" opens the shortcut sheet (Escape
closes it); choices read as words, no "null" placeholder, and the trigger offers no retry,
error handling or time limit."""

from __future__ import annotations

import pytest
from editor_page import START, EditorSession, describe, wait_until

pytestmark = pytest.mark.slow

FOCUSED_NODE = """() => {
  const e = document.activeElement;
  return e && e.classList.contains('react-flow__node') ? e.dataset.id : null;
}"""


def test_insert_undo_select_all_and_the_shortcut_sheet_by_keyboard(
    context, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Keys", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame, keyboard = editor.frame, editor.page.keyboard
    editor.saved()

    frame.locator(".react-flow__pane").click()
    keyboard.press("/")
    keyboard.type("transform")
    keyboard.press("Enter")
    added = editor.node("Transform data")
    added.wait_for()
    wait_until(lambda: editor.editor_frame.evaluate(FOCUSED_NODE) is not None, 5, "canvas focus")
    editor.saved()

    keyboard.press("Control+z")  # focus is on the canvas: this undoes the insert
    added.wait_for(state="detached")
    keyboard.press("Control+Shift+z")
    added.wait_for()

    keyboard.press("Control+a")
    frame.get_by_text("2 steps selected").wait_for()
    assert frame.locator(".react-flow__node.selected").count() == 2

    keyboard.press("?")
    sheet = frame.get_by_role("dialog", name="Keyboard shortcuts")
    sheet.wait_for()
    assert "Select every step" in sheet.inner_text()
    editor.screenshot(artefacts, "keyboard-shortcuts")
    violations = editor.axe_violations()
    assert violations == [], describe(violations)
    keyboard.press("Escape")
    sheet.wait_for(state="hidden")

    # The same sheet from the "More" menu, by keyboard alone.
    frame.get_by_role("button", name="More actions").focus()
    keyboard.press("Enter")
    frame.get_by_role("menuitem", name="Keyboard shortcuts").focus()
    keyboard.press("Enter")
    sheet.wait_for()
    keyboard.press("Escape")
    sheet.wait_for(state="hidden")
    assert editor.console_errors == []


def test_options_read_as_words_and_the_trigger_offers_no_step_options(
    context, host_page, editor_tenant, artefacts
):
    transform = {
        "id": "2",
        "type": "transform",
        "name": "Shape",
        "position": {"x": 0, "y": 140},
        "data": {"value": {"plan": "{{ trigger.plan }}"}},
    }
    edge = {"id": "e1", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
    workflow_id = editor_tenant.create_workflow("Wording", [START, transform], [edge])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame

    start_panel = frame.get_by_role("region", name="Step Start")
    editor.open_step("Start", "Step name")
    start_panel.wait_for()
    text = start_panel.inner_text()
    for absent in ("Retry", "On error", "Time limit", "More options"):
        assert absent not in text, (absent, text)

    editor.open_step("Shape", "Step name")
    frame.get_by_text("More options").click()
    on_error = frame.get_by_label("On error")
    labels = on_error.locator("option").all_inner_texts()
    assert labels == [
        "Stop the run",
        "Go on, with the error as this step's output",
        "Follow the step's error branch",
    ], labels
    limit = frame.get_by_label("Time limit (seconds)")
    assert limit.get_attribute("placeholder") != "null"
    editor.screenshot(artefacts, "keyboard-wording")
    assert "null" not in frame.locator(".schema-form").inner_text()
