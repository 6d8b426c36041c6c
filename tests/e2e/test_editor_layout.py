"""Tidy up on a branching workflow: steps apart, every connection drawn along the route the
layout laid (never through a step), one undo puts everything back; the overview map can be
hidden (for the session), and where it shows it covers no step, no "+" and no control.
Screenshots: artefacts/e2e/layout-*.png."""

from __future__ import annotations

import pytest
from editor_page import START, wait_until

pytestmark = pytest.mark.slow


def step(node_id: str, kind: str, name: str, data: dict) -> dict:
    # Every step piled near the same spot: what Tidy up has to sort out.
    offset = int(node_id) * 12
    return {
        "id": node_id,
        "type": kind,
        "name": name,
        "position": {"x": offset, "y": offset},
        "data": data,
    }


def edge(source: str, handle: str | None, target: str) -> dict:
    return {
        "id": f"e{source}-{handle or 'next'}-{target}",
        "source": source,
        "target": target,
        "sourceHandle": handle,
        "targetHandle": None,
    }


def branching() -> tuple[list[dict], list[dict]]:
    """A condition with both branches and an error branch, the false one skipping two steps to
    where the branches meet; then a loop with its body and what follows it."""
    value = {"value": {"ok": True}}
    nodes = [
        START,
        step(
            "2",
            "condition",
            "Is it big",
            {"expression": "trigger.plan = 'pro'", "on_error": "error"},
        ),
        step("3", "transform", "Price it", value),
        step("4", "transform", "Add tax", value),
        step("5", "transform", "Join up", value),
        step("6", "transform", "Report failure", value),
        step("7", "loop", "Each line", {"items": "trigger.items"}),
        step("8", "transform", "Per line", value),
        step("9", "end", "Finish", {}),
    ]
    edges = [
        edge("1", None, "2"),
        edge("2", "true", "3"),
        edge("3", None, "4"),
        edge("4", None, "5"),
        edge("2", "false", "5"),
        edge("2", "error", "6"),
        edge("5", None, "7"),
        edge("7", "body", "8"),
        edge("7", None, "9"),
    ]
    return nodes, edges


# Screen boxes of the steps, the "+" buttons, the zoom controls and the overview map.
BOXES = """() => {
  const box = (e) => {
    const r = e.getBoundingClientRect();
    return {x: r.x, y: r.y, w: r.width, h: r.height};
  };
  const all = (sel) => [...document.querySelectorAll(sel)].map(box);
  const map = document.querySelector('.react-flow__minimap');
  return {
    nodes: all('.react-flow__node .wnode'),
    pluses: all('.add-after, .edge-add'),
    controls: all('.react-flow__controls'),
    minimap: map && getComputedStyle(map).display !== 'none' ? box(map) : null,
  };
}"""

# Points along every drawn connection that fall inside a step's box (its border excluded), and
# connections still drawn as a plain curve (no laid route).
THROUGH = """() => {
  const nodes = [...document.querySelectorAll('.react-flow__node .wnode')]
    .map((e) => e.getBoundingClientRect());
  const inside = (p) => nodes.some((r) =>
    p.x > r.left + 2 && p.x < r.right - 2 && p.y > r.top + 2 && p.y < r.bottom - 2);
  const through = [], curved = [];
  for (const path of document.querySelectorAll('.react-flow__edge path.react-flow__edge-path')) {
    const id = path.closest('.react-flow__edge').getAttribute('data-id');
    if (/C/.test(path.getAttribute('d'))) curved.push(id);
    const matrix = path.getScreenCTM();
    const length = path.getTotalLength();
    for (let at = 0; at <= length; at += 4) {
      const p = path.getPointAtLength(at).matrixTransform(matrix);
      if (inside(p)) { through.push(id); break; }
    }
  }
  return {through, curved, count: document.querySelectorAll('.react-flow__edge').length};
}"""


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def steps_apart(page) -> bool:
    nodes = page.evaluate(BOXES)["nodes"]
    return len(nodes) == 9 and not any(
        overlap(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1 :]
    )


def covered_by_minimap(page) -> list[dict] | None:
    """What the shown overview map overlaps (steps, "+" buttons, zoom controls); None if hidden."""
    boxes = page.evaluate(BOXES)
    if boxes["minimap"] is None:
        return None
    others = boxes["nodes"] + boxes["pluses"] + boxes["controls"]
    return [b for b in others if overlap(b, boxes["minimap"])]


def positions(page) -> dict[str, str]:
    return page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.react-flow__node')]"
        ".map((n) => [n.dataset.id, n.style.transform]))"
    )


def test_tidy_up_lays_branches_apart_and_undoes_in_one_step(browser, editor_tenant, artefacts):
    nodes, edges = branching()
    workflow_id = editor_tenant.create_workflow("Layout", nodes, edges)
    context = browser.new_context(viewport={"width": 1320, "height": 860})
    try:
        page = context.new_page()
        page.goto(editor_tenant.editor_url(workflow_id))
        page.get_by_test_id("node-Finish").wait_for(timeout=60000)
        wait_until(lambda: len(page.evaluate(BOXES)["nodes"]) == 9, message="nine steps drawn")
        assert not steps_apart(page)  # piled up as sent
        before = positions(page)
        page.screenshot(path=str(artefacts / "layout-before.png"))

        page.get_by_role("button", name="Tidy up the layout").click()
        wait_until(lambda: steps_apart(page), timeout_s=30, message="steps apart after Tidy up")
        page.get_by_test_id("save-state").filter(has_text="All changes saved").wait_for(
            timeout=60000
        )
        # Drawn along the laid routes (no plain curve left), none through a step.
        wait_until(
            lambda: page.evaluate(THROUGH)["curved"] == [], timeout_s=20, message="routes drawn"
        )
        drawn = page.evaluate(THROUGH)
        assert drawn["count"] == len(edges) and drawn["through"] == [], drawn

        # The routes are saved with the draft; the engine's graph keeps them as sent.
        saved = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
        saved_edges = saved.get("edges") or saved["workflow"]["edges"]
        assert all(len(e.get("route") or []) >= 2 for e in saved_edges), saved_edges

        # The overview map covers no step, no "+" and not the zoom controls (after the fit).
        # The view settles after its fit animation: wait for it rather than read it once.
        wait_until(lambda: covered_by_minimap(page) == [], message="nothing under the minimap")
        page.screenshot(path=str(artefacts / "layout-tidy.png"))

        # One undo puts every step back where it was.
        page.get_by_role("button", name="Undo").click()
        wait_until(lambda: positions(page) == before, message="positions restored by one undo")
        page.get_by_role("button", name="Redo").click()
        wait_until(lambda: steps_apart(page), message="steps apart again after redo")
    finally:
        context.close()


def test_the_overview_map_hides_for_the_session_and_steps_aside_when_narrow(
    browser, editor_tenant, artefacts
):
    nodes, edges = branching()
    # One tall column: fitted into view, its lowest steps would reach the map's corner.
    nodes = [{**node, "position": {"x": 0, "y": i * 150}} for i, node in enumerate(nodes)]
    workflow_id = editor_tenant.create_workflow("Minimap", nodes, edges)
    context = browser.new_context(viewport={"width": 1320, "height": 860})
    try:
        page = context.new_page()
        page.goto(editor_tenant.editor_url(workflow_id))
        page.get_by_test_id("node-Finish").wait_for(timeout=60000)
        minimap = page.locator(".react-flow__minimap")
        minimap.wait_for(state="visible", timeout=60000)
        wait_until(lambda: covered_by_minimap(page) == [], message="nothing under the minimap")
        page.screenshot(path=str(artefacts / "layout-minimap-shown.png"))

        # A step added at the bottom is brought into view clear of the map, its "+" too.
        page.get_by_role("button", name="Add a step after Per line").click()
        page.keyboard.type("transform")
        page.keyboard.press("Enter")
        page.get_by_test_id("node-Transform data").wait_for(timeout=60000)
        wait_until(lambda: covered_by_minimap(page) == [], message="new step clear of the minimap")
        page.screenshot(path=str(artefacts / "layout-minimap-added.png"))
        hide = page.get_by_role("button", name="Hide the overview map")
        assert hide.get_attribute("aria-pressed") == "true"
        hide.click()
        minimap.wait_for(state="hidden")
        show = page.get_by_role("button", name="Show the overview map")
        assert show.get_attribute("aria-pressed") == "false"
        page.screenshot(path=str(artefacts / "layout-minimap-hidden.png"))

        # Opened again in the same tab: still hidden (the token leaves the address once read).
        page.goto(editor_tenant.editor_url(workflow_id))
        page.get_by_test_id("node-Finish").wait_for(timeout=60000)
        page.get_by_role("button", name="Show the overview map").wait_for(timeout=60000)
        assert not minimap.is_visible()
        page.get_by_role("button", name="Show the overview map").click()
        minimap.wait_for(state="visible")

        # A canvas too narrow for it beside the controls: no map, and no toggle for it.
        page.set_viewport_size({"width": 900, "height": 860})
        minimap.wait_for(state="hidden", timeout=60000)
        page.get_by_role("button", name="Show the overview map").wait_for(state="detached")
        page.get_by_role("button", name="Hide the overview map").wait_for(state="detached")
        page.screenshot(path=str(artefacts / "layout-minimap-narrow.png"))
    finally:
        context.close()
