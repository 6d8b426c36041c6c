"""The editor in headless Chromium, framed by a host page on another origin, against a live Weft."""

from __future__ import annotations

import re
import time

import httpx
from e2e_servers import API, HostPage
from editor_page import EditorSession, describe

START = {
    "id": "1",
    "type": "start",
    "name": "Start",
    "position": {"x": 0, "y": 0},
    "data": {"trigger": "manual", "sample_payload": {"user_id": 42, "plan": "pro"}},
}


FOCUSED_NAME = """() => {
  const el = document.activeElement;
  return (el && (el.getAttribute('aria-label') || el.textContent || '')).trim();
}"""


def wait_until(check, timeout_s: float = 20, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


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


def test_safe_test_mode_holds_back_writes_until_run_for_real(
    context, host_page, editor_tenant, sink, artefacts
):
    post = {
        "id": "2",
        "type": "http",
        "name": "Create order",
        "position": {"x": 0, "y": 140},
        "data": {
            "method": "POST",
            "url": sink.url + "/orders",
            "body": {"user": "{{ trigger.user_id }}"},
        },
    }
    edges = [
        {"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
    ]
    workflow_id = editor_tenant.create_workflow("Orders", [START, post], edges)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame

    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    frame.get_by_text("not sent", exact=True).wait_for()
    assert sink.requests == []

    frame.get_by_role("button", name=re.compile(r"^Open step Create order")).click()
    would_send = frame.get_by_label("Request it would send").inner_text()
    assert sink.url + "/orders" in would_send
    assert '"user": 42' in would_send
    assert sink.requests == []
    editor.screenshot(artefacts, "safe-mode")

    frame.get_by_role("button", name="Run for real").first.click()
    wait_until(lambda: len(sink.requests) == 1, message="the POST to reach the sink")
    assert sink.requests == [("POST", "/orders", {"user": 42})]
    assert editor.console_errors == []


def test_a_second_tabs_save_makes_the_first_see_the_conflict_dialog(
    context, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Shared", [START])
    first = EditorSession(context, host_page, editor_tenant, workflow_id)
    second = EditorSession(context, host_page, editor_tenant, workflow_id)

    second.add_step("end")
    second.saved()

    first.add_step("transform")
    dialog = first.frame.get_by_role("dialog", name="This draft was changed elsewhere")
    dialog.wait_for(timeout=15000)
    first.screenshot(artefacts, "conflict")
    dialog.get_by_role("button", name="Reload their version").click()
    first.node("End").wait_for()
    assert first.node("Transform data").count() == 0
    first.saved()


def test_an_old_version_is_restored_into_the_draft(context, host_page, editor_tenant, artefacts):
    step = {
        "id": "2",
        "type": "end",
        "name": "Old ending",
        "position": {"x": 0, "y": 140},
        "data": {},
    }
    edges = [
        {"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
    ]
    workflow_id = editor_tenant.create_workflow("Versions", [START, step], edges)
    assert editor_tenant.api(
        "PUT", f"/workflow/{workflow_id}/publish", json={"published": True}
    ).is_success
    renamed = {**step, "name": "New ending"}
    editor_tenant.api(
        "PUT", f"/workflow/{workflow_id}/draft", json={"nodes": [START, renamed], "edges": edges}
    )
    assert editor_tenant.api(
        "PUT", f"/workflow/{workflow_id}/publish", json={"published": True}
    ).is_success

    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    editor.node("New ending").wait_for()
    frame.get_by_role("tab", name="Versions").click()
    frame.get_by_role("listitem").filter(has_text="Version 1").get_by_role(
        "button", name="Compare with draft"
    ).click()
    frame.get_by_text("Draft compared with version 1").wait_for()
    editor.screenshot(artefacts, "versions")
    frame.get_by_role("button", name="Back to the draft").click()

    frame.get_by_role("button", name="Restore version 1 into the draft").click()
    frame.get_by_role("dialog").get_by_role("button", name="Restore into draft").click()
    editor.node("Old ending").wait_for()
    draft = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
    assert [n["name"] for n in draft["nodes"] if n["type"] == "end"] == ["Old ending"]
    assert editor.console_errors == []


def test_runs_tab_opens_a_run_read_only_and_replays_its_payload(
    context, host_page, editor_tenant, artefacts
):
    shape = {
        "id": "2",
        "type": "transform",
        "name": "Shape",
        "position": {"x": 0, "y": 140},
        "data": {"value": {"id": "{{ trigger.user_id }}"}},
    }
    edges = [
        {"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
    ]
    workflow_id = editor_tenant.create_workflow("Runs", [START, shape], edges)
    assert editor_tenant.api(
        "PUT", f"/workflow/{workflow_id}/publish", json={"published": True}
    ).is_success
    started = editor_tenant.api(
        "POST", f"/workflow/{workflow_id}/execute", json={"payload": {"user_id": 7}}
    )
    assert started.is_success, started.text
    execution_id = started.json()["execution_id"]
    wait_until(
        lambda: (
            editor_tenant.api("GET", f"/execution/{execution_id}").json()["status"] == "COMPLETED"
        ),
        message="the run to complete",
    )

    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    frame.get_by_role("tab", name="Runs").click()
    frame.get_by_role("button", name=re.compile(r"^Open run of .*COMPLETED")).click()
    frame.get_by_text("Viewing a run").wait_for()
    editor.node("Shape").click()
    assert '"id": 7' in frame.get_by_label("Step output").inner_text()
    editor.screenshot(artefacts, "runs")

    frame.get_by_role("button", name="Replay this payload against the draft").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    assert '"user_id": 7' in frame.get_by_role("textbox", name="Sample payload").inner_text()
    assert editor.console_errors == []


def test_a_bad_token_gets_the_error_page(context, editor_tenant, artefacts):
    workflow_id = editor_tenant.create_workflow("Private", [START])
    page = context.new_page()
    response = page.goto(editor_tenant.editor_url(workflow_id, token="wst_not_a_real_token"))
    assert response.status == 401
    assert response.headers["content-type"].startswith("text/html")
    assert page.get_by_role("heading").count() >= 1
    page.screenshot(path=str(artefacts / "error-page.png"))


def test_an_origin_not_in_allowed_origins_cannot_frame_the_editor(context, editor_tenant):
    workflow_id = editor_tenant.create_workflow("Framed", [START])
    stranger = HostPage()
    try:
        page = context.new_page()
        page.goto(stranger.url_for(editor_tenant.editor_url(workflow_id)))
        page.wait_for_timeout(1500)
        editor_frames = [f for f in page.frames if f != page.main_frame]
        assert editor_frames, "the host page has its iframe"
        for frame in editor_frames:
            assert frame.locator("#root").count() == 0, (
                "the editor rendered inside a foreign origin"
            )
    finally:
        stranger.close()


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
    assert focused_name() == "Search steps to add"
    page.keyboard.type("transform")
    page.keyboard.press("Enter")

    # The new step is selected and its form open: Tab reaches its value field.
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


def test_host_refreshes_the_token_and_sets_the_theme_over_post_message(
    context, host_page, editor_tenant
):
    workflow_id = editor_tenant.create_workflow("Embedded", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    assert editor.wait_for_message("ready")["payload"]["workflowId"] == workflow_id
    assert "token=" not in editor.editor_frame.url, "the token left the address bar"

    editor.page.evaluate("sendToEditor('setTheme', {colors: {'--accent': 'rgb(15, 118, 110)'}})")
    accent = "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    wait_until(lambda: editor.editor_frame.evaluate(accent) == "rgb(15, 118, 110)", message="theme")

    # A fresh token replaces the old one, which is then revoked: the editor keeps saving.
    org = {"x-api-key": editor_tenant.org_key}
    fresh = httpx.post(
        editor_tenant.server_url + API + "/session-token",
        headers=org,
        json={"linked_account_id": "cust-1"},
        timeout=30,
    ).json()["token"]
    editor.page.evaluate(f"sendToEditor('setToken', {{token: {fresh!r}}})")
    revoked = httpx.post(
        editor_tenant.server_url + API + "/session-token/revoke",
        headers=org,
        json={"token": editor_tenant.token},
        timeout=30,
    )
    assert revoked.json()["revoked"] == 1
    editor.add_step("end")
    editor.saved()
    draft = httpx.get(
        editor_tenant.server_url + API + f"/workflow/{workflow_id}/edit",
        headers={"Authorization": f"Bearer {fresh}"},
        timeout=30,
    ).json()
    assert [n["type"] for n in draft["nodes"]] == ["start", "end"]
    assert editor.wait_for_message("dirtyChanged")
    assert editor.console_errors == []


def test_a_pinned_output_replaces_its_step_and_one_step_runs_alone(
    context, host_page, editor_tenant, sink
):
    fetch = {
        "id": "2",
        "type": "http",
        "name": "Fetch user",
        "position": {"x": 0, "y": 140},
        "data": {"method": "GET", "url": sink.url + "/users/{{ trigger.user_id }}"},
    }
    edges = [
        {"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
    ]
    workflow_id = editor_tenant.create_workflow("Pins", [START, fetch], edges)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame

    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    assert len(sink.requests) == 1

    frame.get_by_role("button", name=re.compile(r"^Open step Fetch user")).click()
    frame.get_by_role("button", name="Pin this output").click()
    assert "Pinned" in editor.node("Fetch user").inner_text()
    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_text("pinned", exact=True).wait_for(timeout=30000)
    assert len(sink.requests) == 1, "a pinned step must not run"

    editor.select("Fetch user")
    frame.get_by_role("button", name="Run this step").click()
    wait_until(lambda: len(sink.requests) == 2, message="the step run alone")
    assert sink.requests[-1][:2] == ("GET", "/users/42")
    assert editor.console_errors == []
