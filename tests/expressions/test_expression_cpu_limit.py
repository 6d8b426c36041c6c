"""An expression's time limit counts its own CPU: load fails nothing that passes alone."""

from __future__ import annotations

import threading
import time

import pytest

from weft.expressions.evaluator import ExpressionError, Limits, evaluate
from weft.expressions.offload import evaluate_off_loop

pytestmark = pytest.mark.unit

# A realistic mapping: filter, sort, map and string functions over 60 records.
MAPPING = (
    "$sort(records[amount > 10], function($l, $r) { $l.amount > $r.amount })"
    '.{"name": $uppercase(name), "label": $join([name, $string(amount)], ": ")}'
)
RECORDS = {"records": [{"name": f"customer {i}", "amount": (i * 37) % 200} for i in range(60)]}
RUNAWAY = "$count([1..100000].($string($) & $string($ * 2) & $string($ * 3)))"


def _cpu_of_one_evaluation() -> float:
    began = time.thread_time()
    evaluate(MAPPING, RECORDS, Limits(timeout_ms=60_000))
    return time.thread_time() - began


class _GilBurners:
    """Python threads that spin, so an evaluation waits for the GIL most of its wall time."""

    def __init__(self, count: int) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._spin, daemon=True) for _ in range(count)]

    def _spin(self) -> None:
        while not self._stop.is_set():
            sum(range(1000))

    def __enter__(self) -> _GilBurners:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


async def test_a_busy_process_does_not_fail_an_expression_that_passes_alone() -> None:
    solo_cpu_s = min(_cpu_of_one_evaluation() for _ in range(3))
    # A limit a few times what the mapping costs alone: on a wall clock, the GIL shared with
    # four spinning threads stretches it well past that.
    limits = Limits(timeout_ms=max(20, round(solo_cpu_s * 3000)))
    walls = []
    with _GilBurners(4):
        for _ in range(3):
            began = time.perf_counter()
            result = await evaluate_off_loop(MAPPING, RECORDS, limits)
            walls.append(time.perf_counter() - began)
            assert len(result) == len(evaluate(MAPPING, RECORDS))
    # The control: the waits did stretch evaluations past the limit, which a wall-clock limit
    # would have failed.
    assert max(walls) * 1000 > limits.timeout_ms, (walls, limits.timeout_ms)


async def test_a_runaway_is_still_stopped_at_its_limit_busy_or_not() -> None:
    for burners in (0, 4):
        with _GilBurners(burners):
            began = time.thread_time(), time.perf_counter()
            with pytest.raises(ExpressionError, match="too long"):
                # jsonata-python's limit (jlens finishes this one: test_expression_native.py)
                await evaluate_off_loop(RUNAWAY, {}, Limits(timeout_ms=100, native=False))
            # Stopped after ~100 ms of its own CPU; unlimited, it runs for seconds. The bound is
            # generous for a loaded machine and still far below the runaway's own length.
            assert time.perf_counter() - began[1] < 30
