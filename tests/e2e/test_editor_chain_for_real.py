"""A chain of dependent writes run for real from the test panel (issue #22, point 5): the user
chooses the held-back writes, they run together, and the second receives the first one's id."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from editor_page import START, EditorSession, describe, wait_until
from playwright.sync_api import expect

from engine.billing import Billing

pytestmark = pytest.mark.slow


@pytest.fixture
def billing() -> Iterator[Billing]:
    server = Billing()
    yield server
    server.close()


def chain(billing: Billing) -> list[dict]:
    """Start → Create customer (POST) → Subscribe (POST carrying the new customer's id)."""

    def post(node_id: str, name: str, path: str, body: dict, y: int) -> dict:
        data = {"method": "POST", "url": billing.url + path, "body": body}
        return {
            "id": node_id,
            "type": "http",
            "name": name,
            "position": {"x": 0, "y": y},
            "data": data,
        }

    return [
        START,
        post("2", "Create customer", "/customers", {"plan": "{{ trigger.plan }}"}, 140),
        post(
            "3",
            "Subscribe",
            "/subscriptions",
            {"customer": "{{ nodes.create_customer.body.id }}"},
            280,
        ),
    ]


def edge(source: str, target: str) -> dict:
    return {"id": f"e{source}-{target}", "source": source, "target": target, "sourceHandle": None}


def test_chosen_writes_run_for_real_together_and_all_asks_first(
    context, host_page, editor_tenant, billing, artefacts
):
    workflow_id = editor_tenant.create_workflow(
        "Billing chain", chain(billing), [edge("1", "2"), edge("2", "3")]
    )
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    choices = frame.get_by_role("group", name="Held-back writes")
    create = choices.get_by_role("checkbox", name=re.compile(r"^Create customer"))
    subscribe = choices.get_by_role("checkbox", name=re.compile(r"^Subscribe"))

    # A safe run holds both writes back and lists them to choose from.
    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    subscribe.wait_for(timeout=30000)
    assert create.is_visible() and billing.received == []
    run_chosen = choices.get_by_role("button", name=re.compile("for real$"))
    assert run_chosen.is_disabled()  # nothing chosen yet
    violations = editor.axe_violations()
    assert violations == [], describe(violations)

    # Both chosen: one run sends both, and Subscribe carries the id Create customer got back.
    create.check()
    subscribe.check()
    editor.screenshot(artefacts, "chain-chosen")
    choices.get_by_role("button", name="Run test with 2 for real").click()
    wait_until(lambda: billing.posts("/subscriptions") != [], 60, "the subscription POST")
    assert billing.posts("/customers") == [{"plan": "pro"}]
    assert billing.posts("/subscriptions") == [{"customer": "cus_1"}]
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    choices.wait_for(state="detached", timeout=30000)  # nothing was held back this time
    editor.screenshot(artefacts, "chain-sent")

    # A safe run again, then "all": it asks first, and Cancel sends nothing.
    frame.get_by_role("button", name="Run test").click()
    subscribe.wait_for(timeout=30000)
    choices.get_by_role("button", name="Run all for real…").click()
    dialog = frame.get_by_role("dialog", name="Send every write for real?")
    dialog.wait_for()
    assert "Create customer, Subscribe" in dialog.inner_text()
    editor.screenshot(artefacts, "chain-confirm-all")
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert len(billing.posts("/customers")) == 1

    choices.get_by_role("button", name="Run all for real…").click()
    dialog.get_by_role("button", name="Send all for real").click()
    wait_until(lambda: len(billing.posts("/subscriptions")) == 2, 60, "the second subscription")
    assert billing.posts("/subscriptions")[-1] == {"customer": "cus_2"}
    assert editor.console_errors == []


def test_a_steps_run_for_real_chooses_it_in_the_test_panel(
    context, host_page, editor_tenant, billing
):
    workflow_id = editor_tenant.create_workflow(
        "Billing chain", chain(billing), [edge("1", "2"), edge("2", "3")]
    )
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    frame.get_by_role("tab", name="Test").click()
    frame.get_by_role("button", name="Run test").click()
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)

    # From the step's own panel, "Run for real…" only chooses it: nothing is sent yet.
    frame.get_by_role("button", name=re.compile(r"^Open step Create customer")).click()
    frame.get_by_role("button", name="Run for real…").click()
    choices = frame.get_by_role("group", name="Held-back writes")
    create = choices.get_by_role("checkbox", name=re.compile(r"^Create customer"))
    create.wait_for(timeout=30000)
    assert create.is_checked() and billing.received == []

    # Only Create customer runs; Subscribe stays held back, showing the real id it would send.
    choices.get_by_role("button", name="Run test with 1 for real").click()
    wait_until(lambda: billing.posts("/customers") != [], 60, "the customer POST")
    frame.get_by_role("status").filter(has_text="Succeeded").wait_for(timeout=30000)
    subscribe = choices.get_by_role("checkbox", name=re.compile(r"^Subscribe"))
    subscribe.wait_for(timeout=30000)
    frame.get_by_role("button", name=re.compile(r"^Open step Subscribe")).click()
    expect(frame.get_by_label("Request it would send")).to_contain_text("cus_1", timeout=30000)
    assert billing.posts("/subscriptions") == []
    assert editor.console_errors == []
