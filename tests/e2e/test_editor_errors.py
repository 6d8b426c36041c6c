"""Errors for people: a sentence first, the code and raw answer folded away and copyable, text
that wraps, and never an operator's setting (WEFT_...) in front of an end customer: a blocked
address sends them to their administrator with a code the operator can look up."""

from __future__ import annotations

import pytest
from editor_page import START, EditorSession, describe, wait_until

pytestmark = pytest.mark.slow

BLOCKED = {
    "id": "2",
    "type": "http",
    "name": "Fetch internal",
    "position": {"x": 0, "y": 140},
    "data": {"method": "GET", "url": "http://10.255.255.1/orders"},
}
EDGE = {"id": "e1", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
# Every element of the note fits its box: long codes and raw answers wrap instead.
# (Inline elements have no client width of their own: their block's width covers them; the
# hidden copy of the report is for the clipboard only.)
FITS = """(note) => [note, ...note.querySelectorAll(':not(.sr-only)')].every(e =>
  e.clientWidth === 0 || e.scrollWidth <= e.clientWidth + 1
  || getComputedStyle(e).overflowX === 'auto')"""


def test_a_blocked_address_asks_for_the_administrator_with_a_code(
    browser, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Blocked", [START, BLOCKED], [EDGE])
    context = browser.new_context(viewport={"width": 1320, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=host_page.origin)
    try:
        editor = EditorSession(context, host_page, editor_tenant, workflow_id)
        frame = editor.frame
        frame.get_by_role("button", name="Test", exact=True).click()
        note = frame.locator(".error-note").filter(has_text="The test run failed.")
        note.wait_for(timeout=30_000)
        text = note.inner_text()
        assert "ask your administrator" in text, text
        assert "WEFT_" not in frame.locator("body").text_content()

        note.get_by_text("Details for support").click()
        note.get_by_text("OUTBOUND_BLOCKED").first.wait_for()
        editor.screenshot(artefacts, "errors-blocked-1280")
        assert note.evaluate(FITS)
        violations = editor.axe_violations()
        assert violations == [], describe(violations)

        note.get_by_role("button", name="Copy the details").click()
        note.get_by_role("button", name="Copied").wait_for()
        copied = editor.page.evaluate("navigator.clipboard.readText()")
        assert "OUTBOUND_BLOCKED" in copied and "WEFT_" not in copied, copied

        # The failed step says the same in its own panel.
        frame.get_by_role("button", name="Open step Fetch internal").click()
        frame.get_by_role("tab", name="Error •").click()
        step_note = frame.locator(".error-note").filter(has_text="This step failed.")
        assert "ask your administrator" in step_note.inner_text()

        # In a 360 px frame the note wraps inside it, and nothing is wider than the frame.
        editor.page.evaluate("document.getElementById('editor').style.width = '360px'")
        wait_until(lambda: editor.editor_frame.evaluate("window.innerWidth") == 360)
        assert step_note.evaluate(FITS)
        assert editor.editor_frame.evaluate(
            "document.scrollingElement.scrollWidth <= window.innerWidth"
        )
        step_note.scroll_into_view_if_needed()
        editor.screenshot(artefacts, "errors-blocked-360")
        violations = editor.axe_violations()
        assert violations == [], describe(violations)
        assert editor.console_errors == []
    finally:
        context.close()
