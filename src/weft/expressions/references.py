"""Which workflow nodes an expression reads, as `nodes.<name>`, found by walking the JSONata AST."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonata.parser import Parser

from weft.expressions.syntax import parse_expression

ROOT_FIELD = "nodes"

# Children of an AST node evaluated against the same context as the node itself.
_SAME_CONTEXT = (
    "expression", "procedure", "arguments", "body", "lhs", "rhs", "lhs_object", "rhs_object",
    "condition", "then", "_else", "expressions", "expr",
)  # fmt: skip
# Children evaluated against each item the node yields (filters, grouping, sorting,
# transforms): a `nodes.x` there reads the item's own `nodes` field, not the workflow's.
_ITEM_CONTEXT = (
    "stages",
    "predicate",
    "group",
    "terms",
    "rhs_terms",
    "pattern",
    "update",
    "delete",
)


def _symbols(value: Any) -> Iterator[Parser.Symbol]:
    """Every AST node in `value`, which may be a node or (nested) lists of them."""
    if isinstance(value, Parser.Symbol):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _symbols(item)


def _is_name(symbol: Any, value: str | None = None) -> bool:
    return (
        isinstance(symbol, Parser.Symbol)
        and symbol.type == "name"
        and (value is None or symbol.value == value)
        and not symbol.stages
        and not symbol.predicate
    )


def _path_reference(steps: list[Parser.Symbol], at_root: bool) -> str | None:
    """The node name a path reads, for `nodes.x...`, `$.nodes.x...` (at root) or `$$.nodes.x...`."""
    first = steps[0]
    if first.type == "variable" and (first.value == "$" or (first.value == "" and at_root)):
        steps = steps[1:]  # `$$` is always the root; `$` is the root only at the top level
    elif not at_root:
        return None
    if len(steps) >= 2 and _is_name(steps[0], ROOT_FIELD) and steps[1].type == "name":
        return str(steps[1].value)
    return None


def _walk(symbol: Parser.Symbol, at_root: bool, found: set[str]) -> None:
    if symbol.type == "path" and symbol.steps:
        name = _path_reference(symbol.steps, at_root)
        if name is not None:
            found.add(name)
        # Only the first step sees the surrounding context; later ones see the previous result.
        for index, step in enumerate(symbol.steps):
            _walk(step, at_root and index == 0, found)
    for attribute in _SAME_CONTEXT:
        for child in _symbols(getattr(symbol, attribute, None)):
            _walk(child, at_root, found)
    for attribute in _ITEM_CONTEXT:
        for child in _symbols(getattr(symbol, attribute, None)):
            _walk(child, False, found)


def referenced_nodes(source: str) -> set[str]:
    """Names `x` of every `nodes.x` the expression reads; raises `ExpressionSyntaxError`."""
    found: set[str] = set()
    ast = parse_expression(source).ast
    if ast is not None:
        _walk(ast, True, found)
    return found
