"""The code sandbox: output rules, typed failures, limits that hold, and a pool that recovers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from support import wait_until
from weft.sandbox import (
    CodeError,
    CodeMemoryExceeded,
    CodeOutputInvalid,
    CodeTimeout,
    SandboxError,
    SandboxPool,
    close_default_pool,
    protocol,
    run_code,
)
from weft.store.json_codec import dump_json

pytestmark = pytest.mark.integration

FAST = {"timeout_ms": 200}
# Slack on a deadline for a loaded machine, still far below the hang each bound guards against.
GENEROUS_S = 5
GRADUAL_BOMB = "let a = []; while (true) a.push(new Array(1e6).fill(1))"


@pytest.fixture
async def pool() -> AsyncIterator[SandboxPool]:
    async with SandboxPool(2) as sandbox:
        yield sandbox


@pytest.fixture
async def single() -> AsyncIterator[SandboxPool]:
    """One worker, so a test knows which process served (or was killed by) a call."""
    async with SandboxPool(1) as sandbox:
        yield sandbox


async def assert_healthy(pool: SandboxPool) -> None:
    assert await pool.run("input.n * 2", {"n": 21}, **FAST) == 42


async def wait_for_replacement(pool: SandboxPool, old_pid: int) -> None:
    for _ in range(200):
        pids = pool.worker_pids()
        if pids and old_pid not in pids:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"worker {old_pid} was not replaced")


# Output rules


async def test_expression_output_is_its_value(pool: SandboxPool) -> None:
    assert await pool.run("input.a + 1", {"a": 1}) == 2


async def test_top_level_return_runs_as_function_body(pool: SandboxPool) -> None:
    assert await pool.run("const x = input.a; return x * 2", {"a": 3}) == 6
    assert await pool.run("if (input.a) {\n  return 'yes';\n}\nreturn 'no';", {"a": 0}) == "no"


async def test_multi_statement_script_outputs_last_expression(pool: SandboxPool) -> None:
    source = """
        const items = input.trigger.items;
        let total = 0;
        for (const i of items) total += i;
        ({ total, count: items.length })
    """
    assert await pool.run(source, {"trigger": {"items": [1, 2, 3]}}) == {"total": 6, "count": 3}


async def test_undefined_output_becomes_null(pool: SandboxPool) -> None:
    assert await pool.run("let x = 1;", None) is None
    assert await pool.run("return;", None) is None
    assert await pool.run("[1, undefined, NaN]", None) == [1, None, None]


async def test_unicode_survives_the_round_trip(pool: SandboxPool) -> None:
    value = {"text": 'é \u2028 😀 "quoted" \\ </script>'}
    assert await pool.run("input", value) == value


# Typed failures


async def test_js_exception_reports_message_and_line(pool: SandboxPool) -> None:
    with pytest.raises(CodeError) as caught:
        await pool.run("const a = input;\n\na.missing.field", {})
    assert caught.value.js_message == (
        "TypeError: Cannot read properties of undefined (reading 'field')"
    )
    assert caught.value.line == 3
    assert caught.value.message.endswith("(line 3)")


async def test_exception_in_function_body_reports_source_line(pool: SandboxPool) -> None:
    with pytest.raises(CodeError) as caught:
        await pool.run("const x = 1;\nthrow new Error('boom: ' + x);\nreturn x;", None)
    assert caught.value.js_message == "Error: boom: 1"
    assert caught.value.line == 2


async def test_thrown_non_error_value_is_reported(pool: SandboxPool) -> None:
    with pytest.raises(CodeError, match="Uncaught boom"):
        await pool.run("throw 'boom'", None)


async def test_syntax_error_reports_line(pool: SandboxPool) -> None:
    with pytest.raises(CodeError) as caught:
        await pool.run("const a = 1;\nlet b = {;\nreturn a;", None)
    assert caught.value.js_message == "SyntaxError: Unexpected token ';'"
    assert caught.value.line == 2


async def test_runtime_syntax_error_is_not_mistaken_for_a_parse_error(pool: SandboxPool) -> None:
    # JSON.parse throws a SyntaxError at run time; the code must not be re-run as a function.
    source = "globalThis.runs = (globalThis.runs || 0) + 1;\nJSON.parse('{')"
    with pytest.raises(CodeError) as caught:
        await pool.run(source, None)
    assert caught.value.js_message.startswith("SyntaxError: Expected property name")
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("() => 1", "function"),
        ("Symbol('s')", "symbol"),
        ("10n", "bigint"),
        ("Promise.resolve(1)", "Promise"),
        ("const a = {}; a.self = a; a", "circular"),
        ("({ big: 10n })", "BigInt"),
    ],
)
async def test_non_json_output_is_invalid(pool: SandboxPool, source: str, reason: str) -> None:
    with pytest.raises(CodeOutputInvalid, match=reason):
        await pool.run(source, None)
    await assert_healthy(pool)


async def test_there_is_no_io(pool: SandboxPool) -> None:
    kinds = await pool.run(
        "[typeof require, typeof fetch, typeof process, typeof XMLHttpRequest]", None
    )
    assert kinds == ["undefined"] * 4
    with pytest.raises(CodeError, match="Timers are not available"):
        await pool.run("setTimeout(() => {}, 0)", None)


# Limits


async def test_infinite_loop_times_out_and_next_call_succeeds(single: SandboxPool) -> None:
    pids = single.worker_pids()
    started = time.monotonic()
    with pytest.raises(CodeTimeout, match="200 ms"):
        await single.run("while (true) {}", None, **FAST)
    # Unstopped, the loop never ends; whether V8 or the parent's deadline stopped it, the kept
    # worker below tells, so the bound can be generous for a loaded machine.
    assert time.monotonic() - started < 0.2 + single.deadline_margin_s + GENEROUS_S
    await assert_healthy(single)
    assert single.worker_pids() == pids  # V8 stopped the loop: the worker was kept


async def test_gradual_memory_bomb_fails_and_next_call_succeeds(single: SandboxPool) -> None:
    with pytest.raises(CodeMemoryExceeded, match="64 MB"):
        await single.run(GRADUAL_BOMB, None, timeout_ms=5000, memory_mb=64)
    await assert_healthy(single)


async def test_huge_array_fill_fails_and_next_call_succeeds(single: SandboxPool) -> None:
    # A dictionary-mode fill ignores V8's termination request; the worker must go.
    pids = single.worker_pids()
    started = time.monotonic()
    with pytest.raises((CodeTimeout, CodeMemoryExceeded)):
        await single.run("new Array(3e8).fill(1)", None, **FAST)
    # Without the parent's deadline a fill that ignores termination runs on unbounded.
    assert time.monotonic() - started < 0.2 + single.deadline_margin_s + GENEROUS_S
    await assert_healthy(single)
    assert single.worker_pids() != pids


async def test_single_allocation_past_limit_aborts_worker_only(single: SandboxPool) -> None:
    # Flattening the rope makes one 512 MB string, allocated before any GC can check the 64 MB
    # heap limit; RLIMIT_DATA makes V8 abort the worker, reported as the code's memory error.
    pids = single.worker_pids()
    source = 'const s = "x".repeat(2 ** 29 - 24);\ns.indexOf("y")'
    with pytest.raises(CodeMemoryExceeded, match="64 MB"):
        await single.run(source, None, timeout_ms=5000, memory_mb=64)
    await assert_healthy(single)
    assert single.worker_pids() != pids


async def test_large_fast_array_past_a_small_limit_fails(single: SandboxPool) -> None:
    with pytest.raises(CodeMemoryExceeded, match="8 MB"):
        await single.run("new Array(3e7).fill(1.5).length", None, timeout_ms=5000, memory_mb=8)
    await assert_healthy(single)


async def test_off_heap_typed_arrays_are_limited(single: SandboxPool) -> None:
    source = "const a = []; while (true) a.push(new Float64Array(1 << 17)); a.length"
    with pytest.raises(CodeMemoryExceeded):
        await single.run(source, None, timeout_ms=5000, memory_mb=16)
    await assert_healthy(single)


async def test_memory_within_limit_is_allowed(single: SandboxPool) -> None:
    # ~24 MB of live small integers (4 bytes each) under a 64 MB limit.
    source = (
        "const a = []; for (let i = 0; i < 48; i++) a.push(new Array(131072).fill(i)); a.length"
    )
    assert await single.run(source, None, timeout_ms=5000, memory_mb=64) == 48


async def test_stuck_worker_is_killed_at_the_deadline(single: SandboxPool) -> None:
    # A frozen worker cannot answer at all: the parent's own deadline must fire.
    [pid] = single.worker_pids()
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(CodeTimeout):
        await single.run("1", None, **FAST)
    elapsed = time.monotonic() - started
    # A frozen worker uses no CPU, so its CPU time limit never passes: the wall-clock backstop
    # does. Never before it; after it, soon (the worker would otherwise hang it forever).
    deadline_s = protocol.wall_backstop_s(0.2) + single.deadline_margin_s
    assert deadline_s <= elapsed < deadline_s + GENEROUS_S
    await assert_healthy(single)
    assert single.worker_pids() != [pid]


async def test_worker_killed_while_idle_is_replaced(single: SandboxPool) -> None:
    [pid] = single.worker_pids()
    os.kill(pid, signal.SIGKILL)
    await wait_for_replacement(single, pid)
    await assert_healthy(single)


async def test_cancelled_call_replaces_its_worker(single: SandboxPool) -> None:
    [pid] = single.worker_pids()
    task = asyncio.create_task(single.run("while (true) {}", None, timeout_ms=10_000))
    await wait_until(lambda: single._turns.held("") == 1, what="the call taking the worker")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_healthy(single)
    assert single.worker_pids() != [pid]


async def test_input_over_limit_is_rejected() -> None:
    async with SandboxPool(1, max_input_bytes=1000) as small:
        with pytest.raises(CodeError, match="over the limit of 1000"):
            await small.run("input.length", "x" * 1000)
        assert await small.run("input.length", "x" * 900) == 900


async def test_output_over_limit_is_invalid() -> None:
    async with SandboxPool(1, max_output_bytes=1000) as small:
        with pytest.raises(CodeOutputInvalid, match="over the limit of 1000"):
            await small.run("'x'.repeat(2000)", None)


async def test_non_json_input_is_rejected(pool: SandboxPool) -> None:
    with pytest.raises(CodeError, match="not JSON"):
        await pool.run("input", {"when": object()})
    with pytest.raises(CodeError, match="not JSON"):
        await pool.run("input", {"big": 2**70, "nan": float("nan")})


async def test_input_reaches_the_code_as_a_step_output_is_stored(pool: SandboxPool) -> None:
    # NaN and the infinities (an outside API may send them: Python's JSON reads them) become
    # null, as in the run's history and in a resumed run's inputs read back from the database.
    odd = {"nan": float("nan"), "inf": float("-inf"), 7: "int key", "line": 'a\u2028b"c\\'}
    expected = {"nan": None, "inf": None, "7": "int key", "line": odd["line"]}
    assert await pool.run("input", odd) == expected
    assert json.loads(dump_json(odd)) == await pool.run("input", odd)
    # Past orjson's reach (an integer past 64 bits, a lone surrogate in the code): json.dumps.
    assert await pool.run("input.big > 1e20", {"big": 2**70}) is True
    assert await pool.run("'\ud83d' + input", "x") == "\ud83dx"


# Isolation, concurrency, lifecycle


async def test_no_state_leaks_between_calls(single: SandboxPool) -> None:
    polluter = """
        var declared = 1;
        globalThis.assigned = 2;
        Array.prototype.evil = 3;
        JSON.stringify = () => '"hijacked"';
        /(secret-\\d+)/.exec('the secret-42 value');
        'done'
    """
    assert await single.run(polluter, None) == "done"
    probe = "[typeof declared, typeof assigned, typeof [].evil, RegExp.$1, JSON.stringify(1)]"
    assert await single.run(probe, None) == ["undefined", "undefined", "undefined", "", "1"]


async def test_concurrent_calls_share_a_small_pool(pool: SandboxPool) -> None:
    results = await asyncio.gather(*(pool.run("input.i * input.i", {"i": i}) for i in range(40)))
    assert results == [i * i for i in range(40)]


async def test_a_runaway_call_does_not_block_the_others(pool: SandboxPool) -> None:
    async def quick(i: int) -> Any:
        return await pool.run("input.i + 1", {"i": i})

    slow = asyncio.create_task(pool.run("while (true) {}", None, timeout_ms=30_000))
    assert await asyncio.gather(*(quick(i) for i in range(20))) == list(range(1, 21))
    # All answered while the runaway still runs: none waited for its end (no wall-clock bound).
    assert not slow.done()
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow


async def test_close_stops_workers_and_refuses_calls() -> None:
    sandbox = SandboxPool(2)
    assert await sandbox.run("1", None) == 1
    pids = sandbox.worker_pids()
    await sandbox.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(SandboxError, match="shut down"):
        await sandbox.run("1", None)


async def test_default_pool_runs_code() -> None:
    try:
        assert await run_code("input.x", {"x": [1, 2]}) == [1, 2]
    finally:
        await close_default_pool()
