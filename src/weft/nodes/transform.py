"""`transform`: outputs `value` with its templates evaluated."""

from __future__ import annotations

from typing import Any, ClassVar

from weft.nodes.base import NodeConfig

NODE_TYPE = "transform"


class Config(NodeConfig):
    """Transform data: the JSON template to evaluate."""

    template_fields: ClassVar[tuple[str, ...]] = ("value",)

    value: Any
