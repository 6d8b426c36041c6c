"""`condition`: routes to a labelled branch, if/else (`true`/`false`) or switch (case names)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from weft.nodes.base import NodeConfig, config_error
from weft.nodes.kind import NodeKind
from weft.nodes.runtime import NodeContext, NodeResult

NODE_TYPE = "condition"

TRUE_HANDLE = "true"
FALSE_HANDLE = "false"
DEFAULT_HANDLE = "default"
# Handles with a fixed meaning, which a case name would shadow.
RESERVED_CASE_NAMES = frozenset({DEFAULT_HANDLE, "error"})


class Case(BaseModel):
    """One switch case: its branch name and the expression that selects it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expression: str = Field(min_length=1)


class Config(NodeConfig):
    """Condition data: exactly one of an if/else `expression` or switch `cases`."""

    expression_fields: ClassVar[tuple[str, ...]] = ("expression", "cases[].expression")

    expression: str | None = Field(None, min_length=1)
    cases: list[Case] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Config:
        if (self.expression is None) == (self.cases is None):
            raise config_error(
                "give exactly one of expression (if/else) or cases (switch)", "expression"
            )
        if self.cases is None:
            return self
        if not self.cases:
            raise config_error("a switch needs at least one case", "cases")
        names = [case.name for case in self.cases]
        for index, name in enumerate(names):
            if name in RESERVED_CASE_NAMES:
                raise config_error(f"case name {name!r} is reserved", f"cases[{index}].name")
            if name in names[:index]:
                raise config_error(f"case name {name!r} is used twice", f"cases[{index}].name")
        return self

    @classmethod
    def allowed_handles(cls, data: Mapping[str, Any]) -> set[str | None]:
        """`true`/`false` for if/else; the case names and `default` for a switch (no plain edge)."""
        handles = super().allowed_handles(data) - {None}
        cases = data.get("cases")
        if not isinstance(cases, list):
            return handles | {TRUE_HANDLE, FALSE_HANDLE}
        names = [case.get("name") for case in cases if isinstance(case, dict)]
        return handles | {name for name in names if isinstance(name, str)} | {DEFAULT_HANDLE}


def _truthy(value: Any) -> bool:
    # JSONata's boolean casting: empty strings, arrays and objects, 0 and null are false.
    return bool(value) if not isinstance(value, dict | list) else len(value) > 0


async def run(config: Config, ctx: NodeContext) -> NodeResult:
    """Pick the branch: `true`/`false`, or the first case whose expression holds (`default`)."""
    if config.expression is not None:
        value = await ctx.evaluate(config.expression, "expression")
        branch = TRUE_HANDLE if _truthy(value) else FALSE_HANDLE
        return NodeResult(output={"result": _truthy(value)}, branch=branch)
    for index, case in enumerate(config.cases or []):
        if _truthy(await ctx.evaluate(case.expression, f"cases[{index}].expression")):
            return NodeResult(output={"case": case.name}, branch=case.name)
    return NodeResult(output={"case": DEFAULT_HANDLE}, branch=DEFAULT_HANDLE)


KIND = NodeKind(
    type=NODE_TYPE,
    config=Config,
    label="Condition",
    category="logic",
    description="Branch on an expression (true/false) or on switch cases; unmatched cases go "
    "to 'default'.",
    defaults={"expression": "true"},
    run=run,
    branches="cases",
    pinnable=False,
    icon=NODE_TYPE,
    output_example={"result": True},
)
