"""Expressions cheap enough to evaluate on the event loop: their cost is bounded by their length.

Evaluations normally run on the evaluation threads (`offload.py`) because one builtin call or
one path mapped over a huge array can take seconds. The hop costs more than a small
expression does, though: two context switches, the GIL handed over and back, the loop woken
through its self-pipe. So an expression is evaluated inline when nothing in it can take long:

- it is short (`MAX_INLINE_CHARS`) and built only from literals, dotted field paths,
  arithmetic, comparisons, `and`/`or`, `&`, unary minus, `? :` and calls with one argument of
  a few builtins whose work is linear in that argument and whose result is a scalar
  (`SCALAR_BUILTINS`: no regex, no callback, nothing that repeats or pads): no other function
  calls, variables, lambdas, filters, wildcards, ranges or array and object constructors;
- every path in it lands, through objects only, on a string, number, boolean, null or
  nothing: no path maps over an array and no operator meets an object or an array.

JSONata then does a fixed amount of work per operator (linear in the scalars it meets, as `&`
already is), so the evaluation is as quick as the plain lookups already done inline. Anything
else still goes to a thread. With jlens present such an expression is evaluated by jlens in
this process (`native.evaluate_in_process`): no step of it can loop, so it needs no helper.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from weft.expressions.paths import lookup
from weft.expressions.syntax import ExpressionSyntaxError, parse_expression

MAX_INLINE_CHARS = 512

_OPERATORS = frozenset({"+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">=", "and", "or", "&"})
_LITERALS = frozenset({"string", "number", "value"})
# Attributes every parsed node carries, or that are only bookkeeping; any other attribute
# that is set (a predicate, stages, a group, a focus, a keep-array flag…) disqualifies it.
_INERT = frozenset(
    {"_outer_instance", "id", "bp", "lbp", "position", "level", "type", "value", "_jsonata_lambda"}
)
_SCALAR = (str, int, float, bool)
# One-argument builtins whose work is linear in a scalar argument and whose value is a scalar.
# Not `$round` with a precision, `$pad`, `$replace`, `$split`, `$join`, `$formatNumber`...: a
# second argument can make the work or the result large, or be a regex.
SCALAR_BUILTINS = frozenset(
    {
        "abs",
        "boolean",
        "ceil",
        "exists",
        "floor",
        "length",
        "lowercase",
        "not",
        "number",
        "round",
        "sqrt",
        "string",
        "trim",
        "uppercase",
    }
)


def _set_attributes(node: Any) -> set[str]:
    return {key for key, item in vars(node).items() if item and key not in _INERT}


def _collect_paths(node: Any, paths: list[tuple[str, ...]]) -> bool:
    """Whether `node` is in the bounded subset; adds the field paths it reads to `paths`."""
    kind, extra = node.type, _set_attributes(node)
    if kind in _LITERALS:
        return not extra
    if kind == "path":
        if extra != {"steps"}:
            return False
        steps = node.steps
        if not all(step.type == "name" and not _set_attributes(step) for step in steps):
            return False
        paths.append(tuple(str(step.value) for step in steps))
        return True
    if kind == "name":  # a single field name parses as a bare name, not a path
        if extra:
            return False
        paths.append((str(node.value),))
        return True
    if kind == "binary":
        return (
            node.value in _OPERATORS
            and extra == {"lhs", "rhs"}
            and _collect_paths(node.lhs, paths)
            and _collect_paths(node.rhs, paths)
        )
    if kind == "unary":
        return (
            node.value == "-" and extra == {"expression"} and _collect_paths(node.expression, paths)
        )
    if kind == "function":
        procedure, arguments = node.procedure, node.arguments
        return (
            node.value == "("
            and extra == {"procedure", "arguments"}
            and procedure.type == "variable"
            and procedure.value in SCALAR_BUILTINS
            and not _set_attributes(procedure)
            and len(arguments) == 1
            and _collect_paths(arguments[0], paths)
        )
    if kind == "condition":
        if not extra <= {"condition", "then", "_else"} or "then" not in extra:
            return False
        branches = [node.condition, node.then] + ([node._else] if "_else" in extra else [])
        return all(_collect_paths(branch, paths) for branch in branches)
    return False


@lru_cache(maxsize=4096)
def bounded_paths(source: str) -> tuple[tuple[str, ...], ...] | None:
    """The field paths `source` reads if it is in the bounded subset, else None."""
    if len(source) > MAX_INLINE_CHARS:
        return None
    try:
        ast = parse_expression(source).ast
    except ExpressionSyntaxError:
        return None
    paths: list[tuple[str, ...]] = []
    return tuple(paths) if ast is not None and _collect_paths(ast, paths) else None


def inline_reads(source: str, context: dict[str, Any]) -> list[Any] | None:
    """The scalars (or None) `source`'s paths land on in `context` if it is certain to be quick
    enough for the event loop, else None."""
    paths = bounded_paths(source)
    if paths is None:
        return None
    values = []
    for names in paths:
        value = lookup(names, context)  # DECLINED when the path would map over an array
        if value is not None and not isinstance(value, _SCALAR):
            return None
        values.append(value)
    return values


def evaluates_inline(source: str, context: dict[str, Any]) -> bool:
    """Whether `source` on `context` is certain to be quick enough for the event loop."""
    return inline_reads(source, context) is not None
