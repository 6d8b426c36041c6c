"""`delay`: a durable wait, for some seconds or until a moment; survives restarts.

Its part in a run (parking the run until the wake time) is the interpreter's:
engine.interpreter.control_flow `delay_step`, reached through `Role.DELAY`.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from weft.expressions import has_templates
from weft.nodes.base import NodeConfig, config_error
from weft.nodes.kind import NodeKind, Role

NODE_TYPE = "delay"

MAX_DELAY_S = 365 * 24 * 3600


class Config(NodeConfig):
    """Delay data: exactly one of `seconds` or `until` (an ISO time, or a template giving one)."""

    template_fields: ClassVar[tuple[str, ...]] = ("until",)

    seconds: float | None = Field(None, ge=0, le=MAX_DELAY_S)
    until: str | None = Field(None, min_length=1)

    @field_validator("until")
    @classmethod
    def _iso_time_unless_template(cls, value: str | None) -> str | None:
        # A template is only known at run time; a literal can be checked now.
        if value is None or has_templates(value):
            return value
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise config_error(f"{value!r} is not an ISO 8601 time") from None
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Config:
        if (self.seconds is None) == (self.until is None):
            raise config_error("give exactly one of seconds or until", "seconds")
        return self


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Delay",
    category="flow",
    description="Wait a number of seconds, or until a time.",
    defaults={"seconds": 60},
    role=Role.DELAY,
    icon=NODE_TYPE,
)
