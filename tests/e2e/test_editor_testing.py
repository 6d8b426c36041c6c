"""Testing from the editor: safe test mode, pinned outputs, one step alone, runs and replay."""

from __future__ import annotations

import re

import pytest
from editor_page import START, EditorSession, describe, wait_until

pytestmark = pytest.mark.slow


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

    # The step's "Run for real…" chooses it in the test panel; the run there sends it.
    frame.get_by_role("button", name="Run for real…").click()
    frame.get_by_role("button", name="Run test with 1 for real").click()
    wait_until(lambda: len(sink.requests) == 1, message="the POST to reach the sink")
    assert sink.requests == [("POST", "/orders", {"user": 42})]
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
    frame.get_by_role("button", name=re.compile(r"^Open run of completed ")).click()
    frame.get_by_text("Viewing a run").wait_for()
    assert '"id": 7' in editor.open_step("Shape", shows="Step output").inner_text()
    editor.screenshot(artefacts, "runs")
    assert editor.axe_violations() == [], describe(editor.axe_violations())

    frame.get_by_role("button", name="Replay this payload against the draft").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    assert '"user_id": 7' in frame.get_by_role("textbox", name="Sample payload").inner_text()
    assert editor.console_errors == []


ROWS_SOURCE = "return {rows: Array.from({length: 4000}, (_, i) => ({i, text: 'row ' + i}))};"


def test_a_large_step_output_is_shown_truncated_and_says_so(context, host_page, editor_tenant):
    big = {
        "id": "2",
        "type": "code",
        "name": "Big",
        "position": {"x": 0, "y": 140},
        "data": {"source": ROWS_SOURCE},
    }
    edges = [{"id": "e", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}]
    workflow_id = editor_tenant.create_workflow("Large", [START, big], edges)
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame

    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    frame.get_by_role("button", name=re.compile(r"^Open step Big")).click()
    frame.get_by_role("note").filter(has_text="the server keeps the first 64 KiB").wait_for()
    shown = frame.get_by_label("Step output").inner_text()
    assert shown.startswith('{"rows":[{"i":0,')
    assert len(shown) <= 21000, "the viewer renders a bounded slice"
    assert editor.console_errors == []
