"""jlens and jsonata-python agree wherever jlens answers: the fallback boundary is invisible.

The cases are those of the JSONata reference suite (jsonata-js 2.2.2's test/test-suite, MIT)
that both engines pass, with an object as input as Weft's contexts are; made by
`bench/jsonata_conformance.py --export` (see BENCHMARKS.md). For each one jlens may evaluate
(`native.eligible`), its value must be jsonata-python's, and where jsonata-python raises jlens
must not answer with a value (it raises, and Weft then reports jsonata-python's error).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from weft.expressions import native
from weft.expressions.bounded import bounded_paths
from weft.expressions.evaluator import (
    MEMORY_CAP_BYTES,
    ExpressionError,
    Limits,
    evaluate_with_jsonata,
    hard_limit_s,
    to_json,
)

pytestmark = pytest.mark.unit

SUITE = json.loads(Path(__file__).with_name("jsonata_suite.json").read_text())
# The current time differs between two evaluations, whichever the engine.
CLOCK_READERS = ("$now(", "$millis(")


def _native(source: str, context: dict[str, Any]) -> tuple[str, Any]:
    limits = Limits()
    try:
        value = native.evaluate_native(
            source,
            context,
            timeout_ms=limits.timeout_ms,
            max_depth=limits.max_depth,
            hard_limit_s=hard_limit_s(limits),
            memory_cap=MEMORY_CAP_BYTES,
        )
    except native.Declined:
        return "declined", None
    return "value", to_json(value)


def _reference(source: str, context: dict[str, Any]) -> tuple[str, Any]:
    # Limits out of the way: a few cases take jsonata-python past 250 ms or 200 levels (jlens,
    # ~70 times faster, answers them within its budget), and this compares values.
    try:
        return "value", evaluate_with_jsonata(source, context, Limits(60_000, 10_000))
    except ExpressionError:
        return "error", None


def test_jlens_answers_as_jsonata_python_on_every_reference_case_both_pass() -> None:
    datasets = SUITE["datasets"]
    answered = declined = 0
    differences = []
    for case in SUITE["cases"]:
        source = case["expr"]
        if not native.eligible(source) or any(name in source for name in CLOCK_READERS):
            continue
        if case["id"].startswith("performance/"):  # seconds of jsonata-python for no new shape
            continue
        context = case["data"] if "data" in case else datasets[case["dataset"]]
        fast, value = _native(source, context)
        if fast == "declined":
            declined += 1
            continue
        answered += 1
        reference = _reference(source, context)
        if reference != (fast, value):
            differences.append((case["id"], source, value, reference))
    assert not differences, (len(differences), differences[:40])
    # Most of the suite runs on jlens; the rest is jsonata-python's by design (regexes...).
    assert answered > 800, (answered, declined)


def test_jlens_in_process_answers_as_jsonata_python_on_the_bounded_reference_cases() -> None:
    """Expressions bounded by their length run on jlens in this process (`bounded.py`), reading
    the context as Python values rather than JSON: the same answers."""
    datasets = SUITE["datasets"]
    answered = 0
    differences = []
    for case in SUITE["cases"]:
        source = case["expr"]
        if bounded_paths(source) is None or not native.eligible(source) or "\\u" in source:
            continue
        if any(name in source for name in CLOCK_READERS):
            continue
        context = case["data"] if "data" in case else datasets[case["dataset"]]
        outcome = native.evaluate_in_process(source, context, timeout_ms=250, max_depth=200)
        if isinstance(outcome, native.Outcome):
            continue  # jsonata-python evaluates it, as the helper's failures
        answered += 1
        reference = _reference(source, context)
        if reference != ("value", to_json(outcome)):
            differences.append((case["id"], source, outcome, reference))
    assert not differences, (len(differences), differences[:40])
    assert answered > 100, answered
