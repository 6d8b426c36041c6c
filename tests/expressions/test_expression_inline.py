"""Which expressions run on the event loop, and that they give what the evaluation threads give.

An expression is evaluated inline only when its cost is bounded by its length (`bounded.py`):
no builtin but a few one-argument scalar ones, no lambda, filter or constructor, and every path
lands on a scalar. Everything else
must still leave the loop, since one builtin call or one path over a huge array can take
seconds. "Inline" is observed directly: the coroutine finishes without ever suspending.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest

from weft.expressions.bounded import bounded_paths, evaluates_inline
from weft.expressions.evaluator import ExpressionError, evaluate_with_jsonata, render
from weft.expressions.offload import evaluate_off_loop, render_off_loop

pytestmark = pytest.mark.unit

CONTEXT: dict[str, Any] = {
    "trigger": {"body": {"n": 4, "name": "Ada", "items": [{"x": 1}, {"x": 2}], "flag": None}},
    "nodes": {"shape": {"n": 4, "double": 8.5, "ok": True}},
}

BOUNDED = [
    "trigger.body.n * 2",
    "nodes.shape.n % 2 = 0",
    "nodes.shape.double / 2 - 1",
    "trigger.body.name & ' ' & trigger.body.n",
    "trigger.body.n > 3 and nodes.shape.ok ? 'big' : 'small'",
    "-trigger.body.n",
    "trigger.body.flag = null",
    "trigger.body.missing.deeper + 1",
    "trigger.body.name.first",
    "`trigger`.body.n != 5 or false",
    "$uppercase(trigger.body.name) & '!'",
    "$round($sqrt(nodes.shape.double) * 100)",
    "$string(trigger.body.n) & $length(trigger.body.name)",
    "$not($exists(trigger.body.missing))",
]
# Not in the subset whatever the context: builtins, filters, wildcards, constructors,
# variables, ranges, blocks, `in`, sorting, grouping, chaining.
UNBOUNDED = [
    "$replace(trigger.body.name, 'a', 'b')",
    "$sum(trigger.body.items.x)",
    "trigger.body.items[0].x",
    "trigger.body.items[x > 1]",
    "trigger.*",
    "trigger.**.x",
    "[1..5]",
    "{'a': trigger.body.n}",
    "$x := 1",
    "$.trigger",
    "(trigger.body.n)",
    "trigger.body.n in [1, 2]",
    "trigger.body.items^(x)",
    "trigger.body.items{x: x}",
    "trigger.body.items[]",
    "trigger.body.n ~> $string()",
    "function($a) { $a }",
    "$round(nodes.shape.double, 2)",  # a second argument could make the work large
    "$pad(trigger.body.name, 5)",
    "$uppercase($x)",
    "$uppercase(?)",
    "$string()",
    "trigger.body.n + " + "1 + " * 200 + "1",  # longer than MAX_INLINE_CHARS
]
# In the subset, but a path meets an array or an object: JSONata would map or compare it all.
SUBSET_OVER_COLLECTIONS = [
    "trigger.body.items.x + 1",
    "trigger.body.items = 1",
    "nodes.shape = trigger.body",
    "trigger.body.items & 'x'",
]


def _finishes_without_suspending(coroutine: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run `coroutine` one step: (True, result) if it returned without awaiting anything."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return True, done.value
    coroutine.close()
    return False, None


@pytest.mark.parametrize("source", BOUNDED)
async def test_bounded_expressions_run_inline_and_agree_with_jsonata(source: str) -> None:
    assert bounded_paths(source) is not None
    assert evaluates_inline(source, CONTEXT)
    inline, value = _finishes_without_suspending(evaluate_off_loop(source, CONTEXT))
    assert inline
    assert value == evaluate_with_jsonata(source, CONTEXT)


@pytest.mark.parametrize("source", UNBOUNDED)
def test_unbounded_expressions_are_not_in_the_subset(source: str) -> None:
    assert bounded_paths(source) is None
    assert not evaluates_inline(source, CONTEXT)


@pytest.mark.parametrize("source", SUBSET_OVER_COLLECTIONS)
async def test_paths_over_arrays_or_objects_leave_the_loop(source: str) -> None:
    assert bounded_paths(source) is not None
    assert not evaluates_inline(source, CONTEXT)
    inline, _ = _finishes_without_suspending(evaluate_off_loop(source, CONTEXT))
    assert not inline


async def _outcome(evaluation: Coroutine[Any, Any, Any]) -> Any:
    try:
        return await evaluation
    except ExpressionError as error:
        return ("error", error.message)


async def test_off_loop_outcomes_match_jsonata_on_the_caller_thread() -> None:
    for source in BOUNDED + SUBSET_OVER_COLLECTIONS + UNBOUNDED[:4]:
        expected = await _outcome(_on_caller(source))
        assert await _outcome(evaluate_off_loop(source, CONTEXT)) == expected, source


async def _on_caller(source: str) -> Any:
    return evaluate_with_jsonata(source, CONTEXT)


async def test_templates_run_inline_only_when_every_expression_is_bounded() -> None:
    quick = {"n": "{{ trigger.body.n }}", "double": "{{ trigger.body.n * 2 }}", "k": 3}
    inline, value = _finishes_without_suspending(render_off_loop(quick, CONTEXT))
    assert inline and value == render(quick, CONTEXT) == {"n": 4, "double": 8, "k": 3}
    mixed = {"double": "{{ trigger.body.n * 2 }}", "total": ["{{ $sum(trigger.body.items.x) }}"]}
    assert not _finishes_without_suspending(render_off_loop(mixed, CONTEXT))[0]
    over_array = "n={{ trigger.body.n }} x={{ trigger.body.items.x + 1 }}"
    assert not _finishes_without_suspending(render_off_loop(over_array, CONTEXT))[0]
