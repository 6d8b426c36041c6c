"""The editor at any frame width from 360 px: Test and Publish always reachable, nothing wider
than the frame, side areas that fold (and stay folded for the session), a "More" menu for what
does not fit. Screenshots: artefacts/e2e/widths-<px>*.png."""

from __future__ import annotations

import pytest
from editor_page import START, describe

pytestmark = pytest.mark.slow

WIDTHS = (360, 800, 1280)
OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"


def http_step(node_id: str, name: str, y: int) -> dict:
    return {
        "id": node_id,
        "type": "http",
        "name": name,
        "position": {"x": 0, "y": y},
        "data": {"method": "GET", "url": "http://127.0.0.1:9/status"},
    }


def chain() -> tuple[list[dict], list[dict]]:
    nodes = [START, http_step("2", "Fetch the customer", 140), http_step("3", "Fetch plan", 280)]
    edges = [
        {"id": "e1", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None},
        {"id": "e2", "source": "2", "target": "3", "sourceHandle": None, "targetHandle": None},
    ]
    return nodes, edges


def reachable(page, name: str) -> None:
    """Visible, inside the frame's width, and clickable (no other element covers it)."""
    button = page.get_by_role("button", name=name, exact=True)
    assert button.is_visible(), name
    box = button.bounding_box()
    width = page.evaluate("window.innerWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, box)
    button.click(trial=True, timeout=5000)


def test_test_and_publish_are_reachable_and_nothing_overflows_at_every_width(
    browser, editor_tenant, artefacts
):
    nodes, edges = chain()
    workflow_id = editor_tenant.create_workflow("Widths", nodes, edges)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        for width in WIDTHS:
            page = context.new_page()  # a tab of its own: a fresh session, nothing remembered
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(editor_tenant.editor_url(workflow_id))
            page.get_by_test_id("node-Fetch plan").wait_for(timeout=60000)
            for name in ("Test", "Publish", "More actions"):
                reachable(page, name)
            assert page.evaluate(OVERFLOW) <= 0, width
            page.screenshot(path=str(artefacts / f"widths-{width}.png"))

            # What the toolbar folds away is in the menu, by keyboard.
            page.get_by_role("button", name="More actions").focus()
            page.keyboard.press("Enter")
            menu = page.get_by_role("menu", name="More actions")
            menu.wait_for()
            if width < 1100:
                menu.get_by_role("menuitem", name="Fit the workflow in view").wait_for()
                menu.get_by_role("menuitem", name="Discard the draft…").wait_for()
            page.screenshot(path=str(artefacts / f"widths-{width}-menu.png"))
            if width in (360, 1280):
                violations = axe_violations(page)
                assert violations == [], describe(violations)
            page.keyboard.press("Escape")
            menu.wait_for(state="detached")
            assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
                "More actions"
            )

            # Test opens its panel and runs, whatever the width.
            page.get_by_role("button", name="Test", exact=True).click()
            page.get_by_role("list", name="Steps of the test run").wait_for(timeout=60000)
            assert page.evaluate(OVERFLOW) <= 0, width
            page.screenshot(path=str(artefacts / f"widths-{width}-tested.png"), full_page=True)
            if width in (360, 1280):
                violations = axe_violations(page)
                assert violations == [], describe(violations)
            page.close()
    finally:
        context.close()


def test_folded_panels_stay_folded_for_the_session(browser, editor_tenant, artefacts):
    workflow_id = editor_tenant.create_workflow("Folding", [START])
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(editor_tenant.editor_url(workflow_id))
        search = page.get_by_role("combobox", name="Search steps to add")
        search.wait_for(timeout=60000)
        steps_toggle = page.get_by_role("button", name="Steps to add")
        details_toggle = page.get_by_role("button", name="Details panel")
        assert steps_toggle.get_attribute("aria-pressed") == "true"
        steps_toggle.click()
        details_toggle.click()
        search.wait_for(state="detached")
        page.get_by_role("complementary", name="Details").wait_for(state="detached")
        canvas_width = page.evaluate("document.querySelector('.react-flow').clientWidth")
        assert canvas_width >= 1280 - 2, canvas_width  # the canvas takes the whole width
        page.screenshot(path=str(artefacts / "widths-folded.png"))

        # Opened again in the same tab (the token leaves the address once read, so no reload).
        page.goto(editor_tenant.editor_url(workflow_id))
        page.get_by_role("button", name="Publish").wait_for(timeout=60000)
        assert page.get_by_role("button", name="Steps to add").get_attribute("aria-pressed") == (
            "false"
        )
        assert page.get_by_role("complementary", name="Details").count() == 0
        # "/" unfolds the palette and puts the cursor in its search.
        page.locator(".react-flow__pane").click()
        page.keyboard.press("/")
        search.wait_for()
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
            "Search steps to add"
        )
    finally:
        context.close()


def axe_violations(page) -> list[dict]:
    """Serious or critical axe-core findings on the editor page (not framed here)."""
    from editor_page import AXE, BLOCKING_IMPACTS

    if not page.evaluate("typeof axe !== 'undefined'"):  # a page keeps it: load once
        page.evaluate(AXE.read_text())
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in found if v.get("impact") in BLOCKING_IMPACTS]
