"""`start`: the trigger. Its output is the trigger payload (engine.interpreter.control_flow
`start_step`)."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from weft.nodes.base import NodeConfig, config_error
from weft.nodes.kind import NodeKind, Role

try:
    from croniter import croniter
except ImportError:  # croniter is a declared dependency; the fallback only keeps imports working
    croniter = None

NODE_TYPE = "start"

_CRON_FIELD = re.compile(r"^[\w*/,\-?#LW]+$")


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a usable 5-field cron expression, or None when it is."""
    fields = expression.split()
    # croniter also takes a seconds (6th) field; schedules here are minute-grained, as in cron.
    if len(fields) != 5:
        return f"cron must have 5 fields (minute hour day month weekday), got {len(fields)}"
    if not all(_CRON_FIELD.match(part) for part in fields):
        return "cron has characters that cron does not allow"
    if croniter is not None and not croniter.is_valid(expression):
        return f"cron {expression!r} is not a valid cron expression"
    return None


class Config(NodeConfig):
    """Start node data: which trigger starts the workflow, and a sample payload for tests."""

    data_optional: ClassVar[bool] = True

    trigger: Literal["manual", "event", "webhook", "schedule", "app"] = "manual"
    event: str | None = Field(None, min_length=1, max_length=200)
    sync: bool = False
    cron: str | None = None
    timezone: str = "UTC"
    sample_payload: Any = None
    # trigger "app": one of an app's declared triggers (a poll or a webhook), with its
    # parameters; it runs with the linked account's connection of that app.
    app: str | None = Field(None, min_length=1, max_length=100)
    app_trigger: str | None = Field(None, min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise config_error(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        problem = None if value is None else cron_problem(value)
        if problem:
            raise config_error(problem)
        return value

    @model_validator(mode="after")
    def _trigger_fields(self) -> Config:
        if self.trigger == "event" and not self.event:
            raise config_error("an event trigger needs the event name", "event")
        if self.trigger == "schedule" and not self.cron:
            raise config_error("a schedule trigger needs a cron expression", "cron")
        if self.trigger == "app" and not (self.app and self.app_trigger):
            raise config_error("an app trigger needs the app and its trigger", "app_trigger")
        return self


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Trigger",
    category="trigger",
    description="How the workflow starts: by hand, on an event, from a webhook, on a "
    "schedule or on an app's trigger (a new item, a delivery). Its output is the payload it "
    "was started with.",
    defaults={"trigger": "manual"},
    role=Role.START,
    pinnable=False,
    runs_alone=False,
    # The trigger is not a step that runs: no retries, error branch or time limit apply.
    hidden_fields=("retry", "on_error", "timeout_s"),
    icon=NODE_TYPE,
    output_example={"example": "the trigger payload"},
)
