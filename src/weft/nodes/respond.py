"""`respond`: the response a synchronous caller receives (`return_value`)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from weft.nodes.base import NodeConfig

NODE_TYPE = "respond"


class Config(NodeConfig):
    """Respond data: status, headers and a templated body."""

    template_fields: ClassVar[tuple[str, ...]] = ("headers", "body")

    status: int = Field(200, ge=100, le=599)
    headers: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
