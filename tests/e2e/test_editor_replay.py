""" "What changes if I publish": the editor replays the last live runs through the draft and
shows, per run, the one step whose output the draft changes, field by field."""

from __future__ import annotations

import pytest
from editor_page import START, EditorSession, describe, wait_until

pytestmark = pytest.mark.slow

OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"
FITS = """(name) => [...document.querySelectorAll('button')]
  .filter(b => b.textContent.trim() === name)
  .every(b => b.getBoundingClientRect().right <= window.innerWidth)"""

EDGES = [
    {"id": "e1", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None},
    {"id": "e2", "source": "2", "target": "3", "sourceHandle": None, "targetHandle": None},
]


def greet(greeting: str) -> dict:
    value = {"greeting": f"{greeting} {{{{ trigger.plan }}}}", "user": "{{ trigger.user_id }}"}
    return {
        "id": "2",
        "type": "transform",
        "name": "Greet",
        "position": {"x": 0, "y": 140},
        "data": {"value": value},
    }


TAIL = {
    "id": "3",
    "type": "transform",
    "name": "Tail",
    "position": {"x": 0, "y": 280},
    "data": {"value": {"plan": "{{ trigger.plan }}"}},
}


def test_the_replay_shows_the_step_the_draft_changes(browser, host_page, editor_tenant, artefacts):
    tenant = editor_tenant
    workflow_id = tenant.create_workflow("Replay", [START, greet("Hello"), TAIL], EDGES)
    published = tenant.api("PUT", f"/workflow/{workflow_id}/publish", json={"published": True})
    assert published.status_code == 200, published.text
    for plan in ("pro", "free"):
        ran = tenant.api(
            "POST",
            f"/workflow/{workflow_id}/execute",
            json={"payload": {"user_id": 7, "plan": plan}, "sync_execution": True},
        )
        assert ran.status_code == 200, ran.text
    nodes = [START, greet("Welcome"), TAIL]
    saved = tenant.api(
        "PUT", f"/workflow/{workflow_id}/draft", json={"nodes": nodes, "edges": EDGES}
    )
    assert saved.status_code == 200, saved.text

    context = browser.new_context(viewport={"width": 1320, "height": 900})
    try:
        editor = EditorSession(context, host_page, tenant, workflow_id)

        def frame_width(css: str, pixels: int) -> None:
            editor.page.evaluate(f"document.getElementById('editor').style.width = '{css}'")
            wait_until(lambda: editor.editor_frame.evaluate("window.innerWidth") == pixels)

        frame = editor.frame
        frame.get_by_role("button", name="What changes?").click()
        dialog = frame.get_by_role("dialog", name="What changes if I publish")
        count = dialog.get_by_label("Live runs to replay")
        count.fill("0")
        assert dialog.get_by_role("button", name="Replay").is_disabled()
        count.fill("5")
        dialog.get_by_role("button", name="Replay").click()
        summary = dialog.get_by_role("status").filter(has_text="would change")
        summary.wait_for(timeout=60_000)
        assert summary.inner_text() == "2 of 2 runs would change."

        runs = dialog.get_by_test_id("replay-run")
        assert runs.count() == 2
        newest = runs.nth(0)
        step = newest.get_by_test_id("replay-step")
        assert step.count() == 1  # only Greet differs
        assert "Greet" in step.inner_text()
        row = step.get_by_role("row", name="output.greeting")
        assert row.get_by_role("cell").all_inner_texts() == ['"Hello free"', '"Welcome free"']
        assert "Unchanged: Start, Tail" in newest.inner_text()
        editor.screenshot(artefacts, "replay-1280")
        violations = editor.axe_violations()
        assert violations == [], describe(violations)

        dialog.get_by_role("button", name="Close").click()
        dialog.wait_for(state="hidden")

        # At 1100 px, the narrowest frame that shows it beside Publish, the header still fits.
        frame_width("1100px", 1100)
        assert frame.get_by_role("button", name="What changes?").is_visible()
        assert editor.editor_frame.evaluate(FITS, "Publish")
        assert editor.editor_frame.evaluate(OVERFLOW) <= 0

        # Narrower, it is in "More actions"; the last report is still there.
        frame_width("360px", 360)
        frame.get_by_role("button", name="More actions").click()
        frame.get_by_role("menuitem", name="What changes if I publish…").click()
        dialog.get_by_role("status").filter(has_text="2 of 2 runs would change.").wait_for()
        assert editor.editor_frame.evaluate(OVERFLOW) <= 0
        assert editor.editor_frame.evaluate(
            "document.querySelector('.replay-dialog').getBoundingClientRect().right"
            " <= window.innerWidth"
        )
        editor.screenshot(artefacts, "replay-360")
        assert editor.console_errors == []
    finally:
        context.close()
