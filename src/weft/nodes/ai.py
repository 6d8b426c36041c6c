"""`ai`: a chat completion against the org's OpenAI-compatible endpoint."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import Field

from weft.nodes.base import NodeConfig
from weft.nodes.kind import NodeKind
from weft.nodes.runtime import NodeContext, NodeFailure, NodeResult, app_gateway

NODE_TYPE = "ai"


class Config(NodeConfig):
    """AI data: templated prompt and system message, model, and whether to ask for JSON."""

    template_fields: ClassVar[tuple[str, ...]] = ("prompt", "system")

    prompt: str = Field(min_length=1)
    system: str | None = None
    model: str | None = Field(None, min_length=1, max_length=200)
    # `json` in the data; renamed because a field called `json` shadows BaseModel.json().
    json_mode: bool = Field(False, alias="json")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=100_000)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """One chat completion; output `{content, model, usage, finish_reason}`.

    With `json`, the endpoint is asked for a JSON object and `content` is the parsed value.
    `usage` (prompt, completion and total tokens) stays on the step for accounting.
    """
    from weft.net import OutboundError, is_retryable_status

    apps = app_gateway(ctx, "ai nodes")
    endpoint = await apps.ai()
    messages = []
    if config.system:
        system = await ctx.render(config.system, "system")
        messages.append({"role": "system", "content": _text(system)})
    prompt = await ctx.render(config.prompt, "prompt")
    messages.append({"role": "user", "content": _text(prompt)})
    body: dict[str, Any] = {"model": config.model or endpoint.model, "messages": messages}
    if config.json_mode:
        body["response_format"] = {"type": "json_object"}
    if config.temperature is not None:
        body["temperature"] = config.temperature
    if config.max_tokens is not None:
        body["max_tokens"] = config.max_tokens
    headers = {"authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    shown = {"url": url, **body}
    try:
        # Through the gateway: a 429 from the endpoint waits as Retry-After says.
        response = await apps.request(
            None,
            ctx.outbound,
            "POST",
            url,
            step_timeout_s=config.timeout_s,
            headers=headers,
            json=body,
            timeout_s=config.timeout_s or endpoint.timeout_s,
        )
    except OutboundError as error:
        raise NodeFailure(error.message, retryable=error.retryable) from error
    if response.status >= 400:
        raise NodeFailure(
            f"The ai endpoint answered {response.status}",
            retryable=is_retryable_status(response.status),
            details={"response": {"status": response.status, "body": response.body}},
        )
    try:
        choice = response.body["choices"][0]
        content = choice["message"]["content"]
    except (TypeError, KeyError, IndexError) as error:
        raise NodeFailure("The ai endpoint answered without choices[0].message.content") from error
    if config.json_mode:
        try:
            content = json.loads(content)
        except (TypeError, json.JSONDecodeError) as error:
            raise NodeFailure(
                "The ai endpoint did not answer JSON in json mode", details={"content": content}
            ) from error
    output = {
        "content": content,
        "model": response.body.get("model", body["model"]),
        "usage": response.body.get("usage"),
        "finish_reason": choice.get("finish_reason"),
    }
    return NodeResult(output=output, input=shown)


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="AI prompt",
    category="ai",
    description="Ask a language model; prompt and system message may use {{ }} references.",
    defaults={"prompt": "Summarise: {{ trigger }}"},
    run=run,
    effect="read",
    effectful=True,
    meter="action_call",
    icon=NODE_TYPE,
)
