"""Plain `{{ path }}` lookups give exactly what JSONata gives, and JSONata itself is unchanged.

The property tests draw random contexts (nested objects, arrays, nulls, numbers that are whole
floats) and random expressions (plain paths, paths through arrays, reserved words, and
expressions that are not paths at all) from a fixed seed, and compare three answers: the fast
path, the cached JSONata path (`evaluate_with_jsonata`), and a freshly compiled JSONata
expression with the library's defaults (input validation on), converted the same way.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from jsonata import Jsonata

from weft.expressions.evaluator import (
    ExpressionError,
    Limits,
    evaluate,
    evaluate_with_jsonata,
    render,
    to_json,
)
from weft.expressions.paths import DECLINED, lookup, plain_path

pytestmark = pytest.mark.unit

KEYS = ["a", "b", "c", "n", "body", "nodes", "trigger", "_x", "B1", "true", "and", "in"]
NOT_PATHS = [
    "a.b + 1",
    "a[0]",
    "a.b[0].c",
    "$.a",
    "$$.nodes.a",
    "a.",
    ".a",
    "a..b",
    "a b",
    "`a`.b",
    "a.*",
    "**.n",
    "$count(a)",
    "a ? b : c",
    "a.b = null",
    "a.b.$string()",
    "null",
    "true",
]


def random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.35:
        return rng.choice([0, 1, 7, -3, 2.0, 1.5, 10**17, "", "text", "{{ a }}", True, False, None])
    if roll < 0.7:
        return random_object(rng, depth - 1)
    size = rng.choice([0, 1, 1, 2, 3])
    return [random_value(rng, depth - 1) for _ in range(size)]


def random_object(rng: random.Random, depth: int) -> dict[str, Any]:
    keys = rng.sample(KEYS, rng.randint(0, 5))
    return {key: random_value(rng, depth) for key in keys}


def random_expression(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return rng.choice(NOT_PATHS)
    return ".".join(rng.choice(KEYS) for _ in range(rng.randint(1, 5)))


def reference(source: str, context: Any) -> Any:
    """JSONata as the library ships it: compiled afresh, validating its input."""
    return to_json(Jsonata(source).evaluate(context))


def outcome(function: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", function(*args)
    except (ExpressionError, Exception) as error:
        return "error", type(error).__name__


@pytest.mark.parametrize("seed", range(4))
def test_plain_paths_agree_with_jsonata_on_random_contexts(seed: int) -> None:
    rng = random.Random(seed)
    checked_fast = 0
    for _ in range(200):
        context = random_object(rng, depth=4)
        for _ in range(5):
            source = random_expression(rng)
            fast = outcome(evaluate, source, context)
            assert fast == outcome(evaluate_with_jsonata, source, context), (source, context)
            if fast[0] == "value":
                assert fast[1] == reference(source, context), (source, context)
            names = plain_path(source)
            if names is not None and lookup(names, context) is not DECLINED:
                checked_fast += 1
    assert checked_fast > 200  # the fast path really answered a good share of the cases


def test_paths_through_arrays_are_left_to_jsonata() -> None:
    context = {"a": [{"b": 1}, {"b": [2, 3]}], "one": [{"b": 1}]}
    assert lookup(("a", "b"), context) is DECLINED
    assert evaluate("a.b", context) == [1, 2, 3]
    assert evaluate("one.b", context) == 1  # JSONata unwraps a singleton sequence


def test_plain_path_recognises_only_dotted_names() -> None:
    assert plain_path("nodes.call.body.score") == ("nodes", "call", "body", "score")
    assert plain_path("trigger") == ("trigger",)
    for source in ["nodes.true", "a.and.b", "null", "a[0]", "$.a", "a .b", "a-b", "é.a"]:
        assert plain_path(source) is None, source


def test_lookup_gives_undefined_for_fields_of_scalars_and_missing_fields() -> None:
    context = {"s": "text", "n": 3, "z": None, "o": {"x": 2.0}}
    assert evaluate("s.length", context) is None
    assert evaluate("n.x", context) is None
    assert evaluate("z.x", context) is None
    assert evaluate("missing.x", context) is None
    assert evaluate("o.x", context) == 2 and isinstance(evaluate("o.x", context), int)


def test_render_gives_the_same_with_and_without_the_fast_path() -> None:
    context = {"trigger": {"body": {"n": 4, "tags": ["x", "y"]}}, "nodes": {"shape": {"d": 8}}}
    template = {
        "n": "{{ trigger.body.n }}",
        "sum": "{{ trigger.body.n + nodes.shape.d }}",
        "text": "n={{ trigger.body.n }} tags={{ trigger.body.tags }} none={{ nodes.nope }}",
        "list": ["{{ nodes.shape }}", "plain"],
    }
    assert render(template, context) == {
        "n": 4,
        "sum": 12,
        "text": 'n=4 tags=["x","y"] none=',
        "list": [{"d": 8}, "plain"],
    }


def test_jsonata_no_longer_walks_the_context_but_still_answers_with_json() -> None:
    # A non-JSON value deep in a part the expression never reads no longer fails it.
    context = {"a": {"b": 2}, "other": {"when": object()}}
    assert evaluate_with_jsonata("a.b * 2", context, Limits()) == 4


def test_a_broken_template_still_fails_every_time() -> None:
    for _ in range(2):  # the second time comes from the parse cache
        with pytest.raises(ExpressionError, match="Unterminated template"):
            render("{{ a ", {"a": 1})
