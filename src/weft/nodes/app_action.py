"""`app_action`: one of an app's declared actions, called with the linked account's connection."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from weft.nodes.base import NodeConfig
from weft.nodes.runtime import NodeContext, NodeFailure, NodeResult

NODE_TYPE = "app_action"
# It touches the world outside: committed before the next step, run only under a live lease.
EFFECTFUL = True


class Config(NodeConfig):
    """App action data: the app slug, the action's name and its (templated) parameters."""

    template_fields: ClassVar[tuple[str, ...]] = ("params",)

    app: str = Field(min_length=1, max_length=100)
    action: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Not runnable yet: it needs connections (app credentials), which Weft does not have yet."""
    raise NodeFailure(
        "app_action nodes cannot run yet: connections are not available in this release"
    )
