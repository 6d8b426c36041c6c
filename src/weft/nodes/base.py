"""What every node type shares: the config base model, retry policy, and config errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from weft.expressions import TemplateExpression, TemplateSyntaxError, has_templates, parse_template

ERROR_HANDLE = "error"
CONFIG_ERROR_TYPE = "invalid_config"


def config_error(message: str, field_name: str | None = None) -> PydanticCustomError:
    """A validation error with a plain message; from a model validator, name its field."""
    # Model validators report an empty `loc`; `error_field` reads the field from `ctx` instead.
    # The message is passed as context, not as the template, so braces in user input stay as-is.
    context = {"message": message} | ({"field": field_name} if field_name else {})
    return PydanticCustomError(CONFIG_ERROR_TYPE, "{message}", context)


class RetryPolicy(BaseModel):
    """How often, and how far apart, a failing node is retried (DESIGN §4)."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(1, ge=1, le=20)
    backoff: Literal["exponential"] = "exponential"
    initial_s: float = Field(1.0, gt=0)
    max_s: float = Field(60.0, gt=0)
    jitter: bool = True

    @model_validator(mode="after")
    def _max_not_below_initial(self) -> RetryPolicy:
        if self.max_s < self.initial_s:
            raise config_error("max_s must not be below initial_s", "max_s")
        return self


@dataclass
class ExpressionScan:
    """Expressions found in a node's data, and template strings that failed to split."""

    expressions: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


class NodeConfig(BaseModel):
    """A node's `data`. Subclasses add their type's fields and say where expressions live."""

    model_config = ConfigDict(extra="forbid")

    # Data keys whose strings (anywhere inside) may hold `{{ }}` templates.
    template_fields: ClassVar[tuple[str, ...]] = ()
    # Paths of bare JSONata fields; `name[]` steps into each item of a list.
    expression_fields: ClassVar[tuple[str, ...]] = ()
    # Whether `data` may be null or absent (the type then runs with its defaults).
    data_optional: ClassVar[bool] = False

    retry: RetryPolicy | None = None
    on_error: Literal["fail", "continue", "error"] = "fail"
    timeout_s: float | None = Field(None, gt=0, le=3600)

    def expressions(self) -> list[tuple[str, str]]:
        """(field path, JSONata source) for every bare expression and `{{ }}` in this config."""
        return self.scan_expressions(self.model_dump(by_alias=True)).expressions

    @classmethod
    def scan_expressions(cls, data: Mapping[str, Any]) -> ExpressionScan:
        """Expressions in raw `data` (valid or not), so a validator can check them all."""
        scan = ExpressionScan()
        for spec in cls.expression_fields:
            for path, value in _resolve(data, spec.split("."), ""):
                if isinstance(value, str):
                    scan.expressions.append((path, value))
        for name in cls.template_fields:
            if name in data:
                _scan_template(data[name], name, scan)
        return scan

    @classmethod
    def allowed_handles(cls, data: Mapping[str, Any]) -> set[str | None]:
        """The `sourceHandle`s this node's outgoing edges may carry, judged from raw `data`."""
        handles: set[str | None] = {None}
        if data.get("on_error") == "error":
            handles.add(ERROR_HANDLE)
        return handles


def _resolve(value: Any, steps: Sequence[str], path: str) -> Iterator[tuple[str, Any]]:
    if not steps:
        yield path, value
        return
    step, rest = steps[0], steps[1:]
    key = step.removesuffix("[]")
    if not isinstance(value, Mapping) or key not in value:
        return
    child_path = f"{path}.{key}" if path else key
    child = value[key]
    if step.endswith("[]"):
        if isinstance(child, list):
            for index, item in enumerate(child):
                yield from _resolve(item, rest, f"{child_path}[{index}]")
    else:
        yield from _resolve(child, rest, child_path)


def _scan_template(value: Any, path: str, scan: ExpressionScan) -> None:
    if isinstance(value, str):
        if not has_templates(value):
            return
        try:
            parts = parse_template(value)
        except TemplateSyntaxError as error:
            scan.problems.append((path, error.message))
            return
        scan.expressions.extend(
            (path, part.source) for part in parts if isinstance(part, TemplateExpression)
        )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _scan_template(item, f"{path}.{key}", scan)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _scan_template(item, f"{path}[{index}]", scan)


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic location as a dotted field path: `("cases", 0, "name")` -> `cases[0].name`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def error_field(error: ErrorDetails) -> str:
    """The dotted field path a pydantic error is about (`cases[0].name`, `url`)."""
    path = field_path(error["loc"])
    named = error.get("ctx", {}).get("field") if error["type"] == CONFIG_ERROR_TYPE else None
    if named:
        path = f"{path}.{named}" if path else str(named)
    return path or "data"


def describe_errors(errors: Sequence[ErrorDetails]) -> list[tuple[str, str]]:
    """(field, message) for each pydantic error."""
    return [(error_field(error), error["msg"]) for error in errors]


def format_errors(errors: Sequence[ErrorDetails]) -> list[str]:
    """Readable `field: message` lines for pydantic errors."""
    return [f"{name}: {message}" for name, message in describe_errors(errors)]
