"""A sync webhook's answer is the respond step's status, headers and body, sent from Weft's own
origin: what would break it on the wire fails the step with a clear error (never a 500), the
framing is Weft's, and no browser runs it as a page of that origin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.flows import BASE, create_draft, finished, publish, step
from graphs import node
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

HOOK = node("1", "start", "Start", trigger="webhook", sync=True)


async def _answer(
    client: httpx.AsyncClient, tenant: Tenant, payload: dict[str, Any], **respond: Any
) -> httpx.Response:
    """A sync webhook workflow answering with `respond`'s fields, called with `payload`."""
    workflow = await publish(client, tenant, [HOOK, node("2", "respond", "Answer", **respond)])
    got = await client.get(f"{BASE}/workflow/{workflow}", headers=tenant.bearer)
    return await client.post(got.json()["webhook_path"], json=payload)


@pytest.mark.parametrize(
    ("headers", "payload", "message"),
    [
        # A line break from the caller's own input would split the answer (a header of theirs).
        (
            {"x-echo": "{{ trigger.body.v }}"},
            {"v": "a\r\nset-cookie: session=stolen"},
            "The value of header 'x-echo' cannot be sent: it holds a line break",
        ),
        ({"x-name": "naïve ✓"}, {}, "The value of header 'x-name' cannot be sent"),
        ({"bad name": "v"}, {}, "Header name 'bad name' is not a valid HTTP header name"),
        ({"": "v"}, {}, "Header name '' is not a valid HTTP header name"),
    ],
)
async def test_a_header_that_would_break_the_answer_fails_the_step_clearly(
    client: httpx.AsyncClient,
    tenant: Tenant,
    engine: Engine,
    headers: dict[str, str],
    payload: dict[str, Any],
    message: str,
) -> None:
    answer = await _answer(client, tenant, payload, status=201, headers=headers, body={"ok": 1})
    assert_envelope(answer, 422, "WORKFLOW_FAILED")
    assert message in answer.json()["message"]
    assert "set-cookie" not in answer.headers
    done = await finished(client, tenant, answer.json()["execution_id"])
    assert done["status"] == "FAILED"
    assert message in step(done, "2")["error"]["message"]


async def test_the_answers_framing_is_weft_s_and_values_are_text(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    headers = {
        "content-length": "5",  # would cut the body short, or run into the next answer
        "transfer-encoding": "chunked",
        "x-count": "{{ trigger.body.n }}",
        "x-flags": {"a": True},
        "x-none": None,
    }
    answer = await _answer(
        client,
        tenant,
        {"n": 7},
        status=201,
        headers=headers,
        body={"seven": "{{ trigger.body.n }}"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"seven": 7}
    assert answer.headers["content-length"] == str(len(answer.content))
    assert "transfer-encoding" not in answer.headers and "x-none" not in answer.headers
    assert answer.headers["x-count"] == "7"
    assert answer.headers["x-flags"] == '{"a":true}'
    done = await finished(client, tenant, answer.headers["x-execution-id"])
    sent = {"x-count": "7", "x-flags": '{"a":true}'}
    assert step(done, "2")["latest_output"]["headers"] == sent  # the history shows what was sent


@pytest.mark.parametrize("status", [204, 304])
async def test_an_answer_http_gives_no_body_is_sent_without_one(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, status: int
) -> None:
    answer = await _answer(client, tenant, {}, status=status, body={"ignored": True})
    assert answer.status_code == status
    assert answer.content == b""
    assert "content-type" not in answer.headers


async def test_no_answer_runs_as_a_page_of_weft_s_origin(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    own_policy = "default-src 'none'"
    answer = await _answer(
        client,
        tenant,
        {},
        headers={"content-type": "text/html", "content-security-policy": own_policy},
        body="<script>parent.postMessage(localStorage, '*')</script>",
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/html"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers.get_list("content-security-policy") == [own_policy, "sandbox"]


async def test_a_1xx_status_is_refused_at_publish(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # A 1xx announces the final answer to come: sent as the answer, the caller would wait on.
    draft = await create_draft(client, tenant, [HOOK, node("2", "respond", "R", status=101)])
    published = await client.put(
        f"{BASE}/workflow/{draft}/publish", json={"published": True}, headers=tenant.bearer
    )
    assert_envelope(published, 422, "INVALID_WORKFLOW_GRAPH")
    assert "status" in published.text  # the problem names the field
