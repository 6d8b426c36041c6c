"""The ai node against a fake OpenAI-compatible server, run by the engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from actions_support import publish_chain
from fake_api import FakeApi, Request

from engine.flows import run
from graphs import node
from support import Tenant
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

AI_KEY = "sk-ai-endpoint-secret-0042"
USAGE = {"prompt_tokens": 21, "completion_tokens": 5, "total_tokens": 26}


@pytest.fixture
def openai() -> Iterator[FakeApi]:
    server = FakeApi()

    def complete(request: Request) -> tuple[int, Any]:
        if request.headers.get("authorization") != f"Bearer {AI_KEY}":
            return 401, {"error": {"message": "bad key"}}
        body = request.json()
        json_mode = body.get("response_format") == {"type": "json_object"}
        content = '{"sentiment": "positive"}' if json_mode else "Positive."
        answer = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
        }
        return 200, answer

    server.answer("POST", "/v1/chat/completions", complete)
    yield server
    server.close()


async def _set_endpoint(client: httpx.AsyncClient, tenant: Tenant, url: str) -> None:
    response = await client.put(
        "/api/v2/public/settings/ai",
        json={"base_url": f"{url}/v1", "model": "tiny-1", "api_key": AI_KEY, "timeout_s": 5},
        headers=tenant.org_key,
    )
    assert response.status_code == 200, response.text
    assert AI_KEY not in response.text and response.json()["api_key_set"] is True


async def test_ai_node_answers_json_and_records_token_usage(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, openai: FakeApi
) -> None:
    await _set_endpoint(client, tenant, openai.url)
    nodes = [
        node("1", "start", "Start", trigger="manual"),
        node(
            "2",
            "ai",
            "Classify",
            system="You label sentiment.",
            prompt="Label: {{ trigger.text }}",
            json=True,
        ),
        node("3", "respond", "Answer", body="{{ nodes.classify.content }}"),
    ]
    published = await publish_chain(client, tenant, nodes)
    assert published.status_code == 200, published.text
    execution = await run(client, tenant, published.workflow_id, {"text": "I love it"})
    assert execution["status"] == "COMPLETED", execution
    step = next(n for n in execution["nodes"] if n["node_id"] == "2")
    assert step["latest_output"]["content"] == {"sentiment": "positive"}
    assert step["latest_output"]["usage"] == USAGE
    (sent,) = openai.requests
    body = sent.json()
    assert body["model"] == "tiny-1"
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"] == [
        {"role": "system", "content": "You label sentiment."},
        {"role": "user", "content": "Label: I love it"},
    ]
    assert AI_KEY not in str(execution)


async def test_ai_node_without_an_endpoint_fails_with_what_to_set(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    nodes = [node("1", "start", "Start", trigger="manual"), node("2", "ai", "Ask", prompt="hi")]
    published = await publish_chain(client, tenant, nodes)
    execution = await run(client, tenant, published.workflow_id)
    assert execution["status"] == "FAILED"
    assert "settings/ai" in str(execution)


async def test_ai_node_times_out_as_configured(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections and never answers
    try:
        port = silent.getsockname()[1]
        await _set_endpoint(client, tenant, f"http://127.0.0.1:{port}")
        nodes = [
            node("1", "start", "Start", trigger="manual"),
            node("2", "ai", "Ask", prompt="hi", timeout_s=0.5),
        ]
        published = await publish_chain(client, tenant, nodes)
        execution = await run(client, tenant, published.workflow_id)
    finally:
        silent.close()
    assert execution["status"] == "FAILED"
    assert "0.5" in str(execution) or "time" in str(execution).lower()
