"""`code`: JavaScript in a V8 isolate, with time and memory limits and no I/O."""

from __future__ import annotations

from pydantic import Field

from weft.nodes.base import NodeConfig

NODE_TYPE = "code"


class Config(NodeConfig):
    """Code data: the JavaScript source (never parsed as JSONata) and its limits."""

    source: str = Field(min_length=1)
    timeout_ms: int = Field(1000, ge=1, le=30_000)
    memory_mb: int = Field(64, ge=8, le=512)
