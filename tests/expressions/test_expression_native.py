"""Expressions on jlens in helper processes: the same answers, and every limit still holds."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from weft.expressions import native
from weft.expressions.evaluator import ExpressionError, Limits, evaluate, render
from weft.expressions.offload import _threads, evaluate_off_loop, render_off_loop

pytestmark = pytest.mark.unit

MAPPING = (
    "$sort(records[amount > 10], function($l, $r) { $l.amount > $r.amount })"
    '.{"name": $uppercase(name), "label": $join([name, $string(amount)], ": ")}'
)
RECORDS = {"records": [{"name": f"customer {i}", "amount": (i * 37) % 200} for i in range(60)]}
ENDLESS_LOOP = "($f := function($n) { $n < 0 ? $n : $f($n + 1) }; $f(0))"
# Few steps, each a million-character string: the step budget never sees the work.
HEAVY_STEPS = '$sum([1..100000].$length($pad("", 1000000, "x")))'
GROWS_MEMORY = '$count([1..2000].$pad("", 1000000, "x"))'


def _helpers() -> set[int]:
    """The jlens helper processes of this process."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"native_worker.py" in command:
                found.add(int(pid))
    return found


async def test_mappings_run_on_jlens_in_a_helper_and_answer_as_jsonata_python() -> None:
    fast = await evaluate_off_loop(MAPPING, RECORDS)
    assert _helpers()
    assert fast == await evaluate_off_loop(MAPPING, RECORDS, Limits(native=False))
    assert len(fast) == len([r for r in RECORDS["records"] if r["amount"] > 10])


def test_the_event_loop_thread_never_waits_on_a_helper() -> None:
    helpers = []

    def as_the_loop_does() -> None:  # inline evaluations call `evaluate` on the loop's thread
        evaluate(MAPPING, RECORDS)
        helpers.append(native._local.helper)

    thread = threading.Thread(target=as_the_loop_does)
    thread.start()
    thread.join()
    assert helpers == [None]


def test_regexes_eval_and_open_ranges_stay_on_jsonata_python() -> None:
    for source in ("$match(name, /a+$/)", '$eval("1 + 1")', "[1..count]", "[1..200000]"):
        assert not native.eligible(source), source
    for source in (MAPPING, "[0..9]", '$split(name, ",")'):
        assert native.eligible(source), source


async def test_an_endless_loop_is_stopped_by_the_step_budget_busy_or_not() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    for burners in (0, 4):
        threads = [threading.Thread(target=spin, daemon=True) for _ in range(burners)]
        for thread in threads:
            thread.start()
        try:
            with pytest.raises(ExpressionError, match="took too long"):
                await evaluate_off_loop(ENDLESS_LOOP, {}, Limits(timeout_ms=100))
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    assert await evaluate_off_loop(MAPPING, RECORDS)


async def test_work_the_step_budget_misses_is_stopped_at_the_hard_cpu_limit() -> None:
    began = time.perf_counter()
    with pytest.raises(ExpressionError, match="took too long"):
        await evaluate_off_loop(HEAVY_STEPS, {}, Limits(timeout_ms=100))
    # Killed after 0.3 s of the helper's CPU; unbounded it runs for minutes. The wall bound is
    # for a heavily loaded machine.
    assert time.perf_counter() - began < 60
    assert await evaluate_off_loop("$sum([1..10])", {}) == 55  # a fresh helper serves


async def test_memory_growth_past_the_cap_is_stopped_outside_this_process() -> None:
    def resident() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    before = resident()
    with pytest.raises(ExpressionError, match="used too much memory"):
        await evaluate_off_loop(GROWS_MEMORY, {}, Limits(timeout_ms=30_000))
    assert resident() - before < 64 * 1024 * 1024  # the helper grew, not this process
    assert await evaluate_off_loop("$sum([1..10])", {}) == 55


async def test_deep_recursion_reports_the_depth_limit() -> None:
    deep = "($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))"
    with pytest.raises(ExpressionError, match="too deeply"):
        await evaluate_off_loop(deep, {})


async def test_where_jlens_fails_and_jsonata_python_answers_jsonata_python_keeps_it() -> None:
    source = '$toMillis("2018-02-03 11:15:33")'  # JSONata says error; jsonata-python answers
    assert native.eligible(source)
    assert await evaluate_off_loop(source, {}) == 1517656533000
    assert not native.eligible(source)  # decided once, remembered


async def test_errors_read_as_jsonata_python_words_them() -> None:
    source = '"a" + 1'
    with pytest.raises(ExpressionError) as fast:
        await evaluate_off_loop(source, {})
    with pytest.raises(ExpressionError) as reference:
        await evaluate_off_loop(source, {}, Limits(native=False))
    assert fast.value.message == reference.value.message
    assert native.eligible(source)  # an error both give keeps the expression on jlens


async def test_a_context_that_is_not_json_is_read_by_jsonata_python() -> None:
    assert await evaluate_off_loop("$uppercase(s)", {"s": "x\ud800"}) == "X\ud800"
    assert native.eligible("$uppercase(s)")


def test_only_what_an_expression_reads_is_sent_and_a_large_read_stays_in_place() -> None:
    context = {"trigger": {"order": {"id": 7, "notes": "n" * 100_000}, "items": [{"id": 1}]}}
    sent = native._input_for("trigger.order.id + $count(trigger.items)", context)
    assert len(sent) < 100  # the notes stay behind
    large = {"trigger": {"items": [{"name": "x" * 50} for _ in range(50_000)]}}
    with pytest.raises(native.Declined):  # jsonata-python reads it in place, without copying
        native._input_for("$uppercase(trigger.items[0].name)", large)


async def test_a_large_context_gets_the_same_answer() -> None:
    large = {"trigger": {"items": [{"name": f"x{i}"} for i in range(50_000)]}}
    source = "$uppercase(trigger.items[0].name)"
    assert await evaluate_off_loop(source, large) == "X0"
    assert native.eligible(source)  # decided for this context only: a small one goes to jlens


def _writes(io: Path) -> int:
    """Write calls a process has made (each answer of a helper is one)."""
    return int(io.read_text().split("syscw:")[1].split()[0])


async def test_a_rendered_value_asks_the_helper_once_and_each_expression_keeps_its_limits() -> None:
    value = {
        "top": "{{ $count(records[amount > 10]) }}",
        "names": ["{{ $uppercase(records[0].name) }}", "n: {{ $sum(records.amount) }}"],
        "plain": "{{ records[1].name }}",
        "twice": ["{{ $random() }}", "{{ $random() }}"],
    }
    rendered = await render_off_loop(value, RECORDS)
    assert rendered == await render_off_loop(value, RECORDS, Limits(native=False)) | {
        "twice": rendered["twice"]
    }
    assert rendered["twice"][0] != rendered["twice"][1]  # one value per occurrence

    def one_request() -> tuple[int, int]:
        render(value, RECORDS)  # the helper started
        helper = native._local.helper
        assert helper is not None
        io = Path(f"/proc/{helper.process.pid}/io")
        writes, begun = _writes(io), helper.begun()
        render(value, RECORDS)
        return _writes(io) - writes, helper.begun() - begun

    # On an evaluation thread, as the runner renders: one answer for the six sources.
    assert await _threads.run(one_request, 10.0) == (1, 6)

    # A runaway among them is stopped at one evaluation's limit, and named.
    runaway = {"a": "{{ $sum(records.amount) }}", "b": f"{{{{ {HEAVY_STEPS} }}}}"}
    with pytest.raises(ExpressionError, match="took too long") as stopped:
        await render_off_loop(runaway, RECORDS, Limits(timeout_ms=100))
    assert "$pad" in stopped.value.message
    assert await render_off_loop({"a": "{{ $sum([1..10]) }}"}, {}) == {"a": 55}
