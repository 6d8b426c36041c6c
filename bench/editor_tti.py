"""Editor time to interactive: open a 150-node workflow in headless Chromium and print the time.

Interactive means: every node is on the canvas and the Publish button answers. The figure is
navigation start to that moment, measured in the page (performance.now()), median of a few
cold page loads. Run: .venv/bin/python bench/editor_tti.py [--nodes 150] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "e2e"))

from e2e_servers import WeftServer, make_editor_tenant

from weft.store.migrate import upgrade_to_head

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def big_workflow(count: int) -> tuple[list[dict], list[dict]]:
    """A start node, then chains of transforms fanning out through conditions."""
    start = {"id": "1", "type": "start", "name": "Start", "position": {"x": 0, "y": 0}, "data": {}}
    nodes = [start]
    edges = []
    for i in range(2, count + 1):
        kind = "condition" if i % 10 == 0 else "transform"
        data = {"expression": "true"} if kind == "condition" else {"value": {"n": i}}
        nodes.append(
            {
                "id": str(i),
                "type": kind,
                "name": f"Step {i}",
                "position": {"x": (i % 7) * 280, "y": (i // 7) * 140},
                "data": data,
            }
        )
        parent = str(i - 1) if i % 10 != 1 else str(i - 1 - (i % 20 == 1) * 9)
        handle = "true" if nodes[int(parent) - 1]["type"] == "condition" else None
        if not any(e["source"] == parent and e["sourceHandle"] == handle for e in edges):
            edges.append(
                {"id": f"e{parent}-{i}", "source": parent, "target": str(i), "sourceHandle": handle}
            )
        else:
            edges.append({"id": f"e1-{i}", "source": "1", "target": str(i), "sourceHandle": None})
    for edge in edges:
        edge["targetHandle"] = None
    return nodes, edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/weft.db"
        upgrade_to_head(url)
        server = WeftServer(url, Path(tmp))
        try:
            tenant = make_editor_tenant(server)
            nodes, edges = big_workflow(args.nodes)
            workflow_id = tenant.create_workflow("Big", nodes, edges)
            timings = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=shutil.which("chromium"), args=FLAGS
                )
                for _ in range(args.rounds):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.goto(tenant.editor_url(workflow_id))
                    page.wait_for_function(
                        "n => document.querySelectorAll('.react-flow__node').length >= n"
                        " && [...document.querySelectorAll('button')]"
                        ".some(b => b.textContent.startsWith('Publish') && !b.disabled)",
                        arg=args.nodes,
                        timeout=60000,
                    )
                    timings.append(page.evaluate("performance.now()"))
                    context.close()
                browser.close()
        finally:
            server.close()
    median = statistics.median(timings)
    print(
        f"editor time to interactive, {args.nodes} nodes: median {median:.0f} ms"
        f" (min {min(timings):.0f}, max {max(timings):.0f}, {args.rounds} cold loads)"
    )


if __name__ == "__main__":
    main()
