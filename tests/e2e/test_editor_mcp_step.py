"""The mcp step in the editor, by mouse and keyboard: add it from the palette, enter a local MCP
server's URL, list its tools (POST /mcp/tools), pick one, fill the form generated from its input
schema, let it save, test in safe mode (held back), then run it for real against the server and
read its output; the form is still there after a reload. Screenshots of each step go to
WEFT_MCP_SHOTS (default /tmp/mcp-step-shots)."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from editor_page import START, EditorSession, wait_until

from remote_mcp import RemoteMcp, remote_mcp

pytestmark = pytest.mark.slow

SHOTS = Path(os.environ.get("WEFT_MCP_SHOTS", "/tmp/mcp-step-shots"))


@pytest.fixture
def remote() -> Iterator[RemoteMcp]:
    """The test MCP server, in a thread of its own (Playwright's loop holds this one)."""
    started: queue.Queue[tuple[RemoteMcp, asyncio.AbstractEventLoop, asyncio.Event]] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        async with remote_mcp() as server:
            started.put((server, asyncio.get_running_loop(), stop))
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    server, loop, stop = started.get(timeout=30)
    yield server
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=15)


def test_list_pick_fill_and_run_a_remote_mcp_tool(context, host_page, editor_tenant, remote):
    SHOTS.mkdir(parents=True, exist_ok=True)
    workflow_id = editor_tenant.create_workflow("Sums", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame

    # 1. Add the step from the palette by keyboard.
    editor.find_in_palette("mcp", re.compile("MCP tool")).press("Enter")
    editor.node("MCP tool").wait_for()
    panel = frame.get_by_role("region", name="Step MCP tool")
    listing = panel.get_by_role("button", name=re.compile("List the server.s tools"))
    listing.wait_for()
    editor.screenshot(SHOTS, "1-mcp-step-added")

    # 2. Replace the placeholder URL with the local server's.
    url = panel.locator("[data-field='f-url'] .cm-content")
    url.click()
    editor.page.keyboard.press("ControlOrMeta+a")
    editor.page.keyboard.type(remote.url)
    assert remote.url in url.inner_text()
    editor.screenshot(SHOTS, "2-url-entered")

    # 3. List the tools (mouse); pick one (keyboard); its input schema becomes a form.
    listing.click()
    tool = panel.get_by_label("Tool", exact=True)
    tool.locator("option", has_text="add").wait_for(state="attached")
    assert remote.headers, "the listing reached the server"
    editor.screenshot(SHOTS, "3-tools-listed")
    tool.focus()
    tool.select_option("add")
    panel.get_by_text("Add two whole numbers").wait_for()
    first = panel.locator("[id='f-arguments.a']")
    second = panel.locator("[id='f-arguments.b']")
    first.wait_for()
    assert first.get_attribute("type") == "number" and second.get_attribute("type") == "number"
    editor.screenshot(SHOTS, "4-schema-form")

    # 4. Fill it by keyboard; autosave stores the step.
    first.click()
    first.press_sequentially("40")
    # Tab passes B's expression toggle ({ }), then reaches its number field.
    first.press("Tab")
    editor.page.keyboard.press("Tab")
    assert second.evaluate("field => field === document.activeElement")
    editor.page.keyboard.type("2")
    editor.saved()
    saved = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
    step = next(n for n in saved["nodes"] if n["type"] == "mcp")
    assert step["data"]["url"] == remote.url and step["data"]["tool"] == "add"
    assert step["data"]["arguments"] == {"a": 40, "b": 2}
    editor.screenshot(SHOTS, "5-form-filled")

    # 5. Safe mode holds the call back; run for real, and the server's answer is the output.
    calls_before = len(remote.headers)
    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    frame.get_by_text("not sent", exact=True).wait_for()
    assert len(remote.headers) == calls_before
    frame.get_by_role("button", name=re.compile(r"^Open step MCP tool")).click()
    would_send = json.loads(frame.get_by_label("Request it would send").inner_text())
    assert would_send == {"url": remote.url, "tool": "add", "arguments": {"a": 40, "b": 2}}
    editor.screenshot(SHOTS, "6-safe-mode")
    # The step's button chooses it in the test panel; the test panel's button sends it.
    frame.get_by_role("button", name="Run for real…").click()
    frame.get_by_role("button", name="Run test with 1 for real").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    wait_until(lambda: len(remote.headers) > calls_before, message="the call to reach the server")
    frame.get_by_role("button", name=re.compile(r"^Open step MCP tool")).click()
    output = panel.get_by_label("Step output")
    output.filter(has_text='"total": 42').wait_for(timeout=30000)
    editor.screenshot(SHOTS, "7-run-for-real")

    # 6. The form stays on reopening the step, and comes back after a reload (the step lists
    # its server's tools again by itself).
    assert first.input_value() == "40" and second.input_value() == "2"
    listings = len(remote.headers)
    editor.page.reload()
    frame.get_by_role("button", name="Publish").wait_for(timeout=60000)
    editor.open_step("MCP tool", "Step name")
    first.wait_for()
    assert first.input_value() == "40" and second.input_value() == "2"
    assert len(remote.headers) > listings
    assert panel.get_by_label("Tool", exact=True).input_value() == "add"
    editor.screenshot(SHOTS, "8-reopened")
    assert editor.console_errors == []
