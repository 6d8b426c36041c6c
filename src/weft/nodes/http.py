"""`http`: one HTTP request; output `{status, headers, body}`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from weft.nodes.base import NodeConfig

NODE_TYPE = "http"

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class Config(NodeConfig):
    """HTTP node data: the request, whose url, headers, query and body are templates."""

    template_fields: ClassVar[tuple[str, ...]] = ("url", "headers", "query", "body")

    method: Method = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, Any] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    connection: str | None = Field(None, min_length=1, max_length=100)

    @field_validator("method", mode="before")
    @classmethod
    def _upper_case_method(cls, value: Any) -> Any:
        # Editors and hand-written JSON both say "post"; the wire wants "POST".
        return value.upper() if isinstance(value, str) else value
