"""`ai`: a chat completion against the org's OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from weft.nodes.base import NodeConfig
from weft.nodes.runtime import NodeContext, NodeFailure, NodeResult

NODE_TYPE = "ai"
# It touches the world outside: committed before the next step, run only under a live lease.
EFFECTFUL = True


class Config(NodeConfig):
    """AI data: templated prompt and system message, model, and whether to ask for JSON."""

    template_fields: ClassVar[tuple[str, ...]] = ("prompt", "system")

    prompt: str = Field(min_length=1)
    system: str | None = None
    model: str | None = Field(None, min_length=1, max_length=200)
    # `json` in the data; renamed because a field called `json` shadows BaseModel.json().
    json_mode: bool = Field(False, alias="json")


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Not runnable yet: it needs connections (app credentials), which Weft does not have yet."""
    raise NodeFailure("ai nodes cannot run yet: connections are not available in this release")
