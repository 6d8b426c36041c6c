"""Builtins that run as one uninterruptible C call have capped inputs; memory per evaluation too."""

from __future__ import annotations

import asyncio
import time

import pytest

from weft.expressions.caps import MAX_PAD_WIDTH, MAX_RANGE
from weft.expressions.evaluator import ExpressionError, Limits, evaluate
from weft.expressions.offload import evaluate_off_loop

pytestmark = pytest.mark.unit

# Each stalled the event loop 0.5-1.5 s before the caps (one C call holding the GIL), the
# `$pad` one taking the process's RSS from 217 to 598 MB.
STALLED_THE_LOOP = [
    "$count([1..10000000])",
    "$sum([1..10000000])",
    "$string([1..3000000])",
    '$length($pad("", 100000000, "€"))',
    '$length($pad("", -100000000))',
]


@pytest.mark.parametrize("source", STALLED_THE_LOOP)
async def test_a_builtin_fed_a_huge_made_up_input_is_refused_at_once(source: str) -> None:
    with pytest.raises(ExpressionError, match="at most"):
        await evaluate_off_loop(source, {}, Limits(timeout_ms=5000))


def test_inputs_within_the_caps_evaluate_as_before() -> None:
    assert evaluate(f"$count([1..{MAX_RANGE}])", {}) == MAX_RANGE
    assert evaluate(f'$length($pad("x", {MAX_PAD_WIDTH}, "-"))', {}) == MAX_PAD_WIDTH
    assert evaluate(f'$length($pad("x", -{MAX_PAD_WIDTH}))', {}) == MAX_PAD_WIDTH
    assert evaluate('$pad("ab", 4, "-")', {}) == "ab--"
    assert evaluate("[3..5]", {}) == [3, 4, 5]


async def test_an_evaluation_that_builds_too_much_memory_is_stopped() -> None:
    # 1 MB per entry, kept: each step is quick, so neither time limit stops it before it has
    # built a few hundred MB (a long time limit here, so only the memory cap can).
    with pytest.raises(ExpressionError, match="too much memory"):
        await evaluate_off_loop(
            '$count([1..2000].$pad("", 1000000, "é"))', {}, Limits(timeout_ms=30_000)
        )
    assert await evaluate_off_loop("$sum([1..10])", {}) == 55  # the threads still serve


async def test_the_loop_keeps_turning_while_capped_builtins_are_refused() -> None:
    # The longest pause of the event loop while each former staller is evaluated: before the
    # caps, 0.5-1.5 s each; now the refusal comes before any large C call. Generous, for a
    # loaded machine: the documented figure is what an idle one measures.
    longest = 0.0
    stop = False

    async def ticker() -> None:
        nonlocal longest
        while not stop:
            began = time.monotonic()
            await asyncio.sleep(0)
            longest = max(longest, time.monotonic() - began)

    ticking = asyncio.create_task(ticker())
    for source in STALLED_THE_LOOP:
        with pytest.raises(ExpressionError):
            await evaluate_off_loop(source, {}, Limits(timeout_ms=5000))
    stop = True
    await ticking
    assert longest < 0.5, longest
