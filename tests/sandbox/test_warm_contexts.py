"""Warm V8 contexts: reused per account, scope and source, yet no call sees another's state."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from support import process_cpu_s
from weft.sandbox import (
    CodeError,
    CodeMemoryExceeded,
    CodeOutputInvalid,
    CodeTimeout,
    SandboxError,
    SandboxPool,
)
from weft.sandbox.pool import warm_key

pytestmark = pytest.mark.integration

ALICE = "org-1/alice"
BOB = "org-1/bob"
SCOPE = "wf-1@3"
FAST = {"timeout_ms": 300}
SECRET = {"secret": "s3cr3t-token"}
GRADUAL_BOMB = "let a = []; while (true) a.push(new Array(1e6).fill(1))"
# Reads every place a previous call could have left the secret.
PROBE = """
const found = [];
if (typeof leak !== "undefined") found.push("global");
if (typeof hidden !== "undefined") found.push("var");
if (typeof stash === "function") found.push("function");
if ([].leak !== undefined) found.push("Array.prototype");
if (({}).leak !== undefined) found.push("Object.prototype");
if (RegExp.$1 || RegExp.lastMatch) found.push("RegExp statics");
if (Object.getPrototypeOf(function* () {}).leak !== undefined) found.push("generator proto");
if (JSON.leak !== undefined) found.push("JSON");
if (typeof __TimerManager === "string") found.push("global lexical binding");
if (String(new Error("x")) !== "Error: x") found.push("Error.prototype.toString");
found
"""


@pytest.fixture
async def single() -> AsyncIterator[SandboxPool]:
    """One worker, so that successive calls of a key meet the same warm context."""
    async with SandboxPool(1) as sandbox:
        yield sandbox


async def warm(pool: SandboxPool, source: str, input: Any = None, **options: Any) -> Any:
    options.setdefault("caller", ALICE)
    return await pool.run(source, input, scope=SCOPE, **options)


async def test_warm_calls_run_in_a_locked_down_context(single: SandboxPool) -> None:
    frozen = "[globalThis, Object.prototype, Array.prototype, Function.prototype, Math]"
    assert await warm(single, f"{frozen}.every(Object.isFrozen)") is True
    assert await single.run(f"{frozen}.every(Object.isFrozen)", None) is False


@pytest.mark.parametrize(
    "leak",
    [
        "globalThis.leak = input.secret; 1",
        "leak = input.secret; 1",
        "var hidden = input.secret; 1",
        "let hidden = input.secret; const leak = hidden; 1",
        "function stash() { return input.secret } 1",
        "Array.prototype.leak = input.secret; 1",
        "Object.prototype.leak = input.secret; 1",
        "Object.defineProperty(Object.prototype, 'leak', { value: input.secret }); 1",
        "/(s3\\w+)/.exec(input.secret); 1",
        "Object.getPrototypeOf(function* () {}).leak = input.secret; 1",
        "JSON.leak = input.secret; 1",
        "__TimerManager = input.secret; 1",
        "Error.prototype.toString = () => input.secret; 1",
        "(0, eval)('var leak = ' + JSON.stringify(input.secret)); 1",
        "Function('leak = ' + JSON.stringify(input.secret))(); 1",
        "const x = input.secret; return 1",
    ],
)
async def test_state_a_call_leaves_is_not_seen_by_the_next(single: SandboxPool, leak: str) -> None:
    # The leaking call still gives the output it gives in a fresh isolate.
    assert await warm(single, leak, SECRET) == await single.run(leak, SECRET)
    assert await warm(single, leak, SECRET) == 1
    assert await warm(single, PROBE) == []


async def test_a_body_that_closes_its_wrapper_early_gains_nothing(single: SandboxPool) -> None:
    escape = "return 1 }); __TimerManager = input.secret; (function () {"
    with pytest.raises(CodeError, match="SyntaxError"):
        await single.run(escape, SECRET)
    with pytest.raises(CodeError, match="SyntaxError"):
        await warm(single, escape, SECRET)
    assert await warm(single, PROBE) == []


async def test_one_source_called_again_sees_nothing_of_its_last_call(single: SandboxPool) -> None:
    # Same account, scope and source: the warm context is reused, its declarations are not.
    source = """
    var seen = typeof seen === "undefined" ? [] : seen;
    let count = (typeof last === "number" ? last : 0) + 1;
    seen.push(input.n);
    ({ seen, count })
    """
    for n in range(3):
        assert await warm(single, source, {"n": n}) == {"seen": [n], "count": 1}


async def test_code_that_needs_a_global_runs_as_in_a_fresh_isolate(single: SandboxPool) -> None:
    source = "counter = (typeof counter === 'number' ? counter : 0) + 1; this.also = 2; counter"
    for _ in range(3):
        assert await warm(single, source) == 1


async def test_two_accounts_never_share_a_context(single: SandboxPool) -> None:
    source = "input.write ? (input.holder.v = input.secret, 1) : [typeof leak, input.holder]"
    assert warm_key(ALICE, SCOPE, source) != warm_key(BOB, SCOPE, source)
    assert await warm(single, source, {"write": True, "holder": {}, **SECRET}) == 1
    assert await warm(single, "globalThis.leak = input.secret; 1", SECRET) == 1
    assert await warm(single, source, {"write": False, "holder": {}}, caller=BOB) == [
        "undefined",
        {},
    ]
    assert await warm(single, PROBE, caller=BOB) == []


async def test_warm_and_fresh_isolates_report_the_same_errors(single: SandboxPool) -> None:
    failing = [
        "throw new Error('boom')",
        "const a = 1;\nnull.x",
        "const a = 1;\nreturn (\nnull).y",
        "return )",
        "let x = ;",
        "JSON.parse('{bad')",
        "throw 'plain'",
    ]
    for source in failing:
        with pytest.raises(CodeError) as cold:
            await single.run(source, None)
        with pytest.raises(CodeError) as hot:
            await warm(single, source)
        assert (hot.value.message, hot.value.line) == (cold.value.message, cold.value.line)
    with pytest.raises(CodeOutputInvalid):
        await warm(single, "() => 1")


async def test_warm_and_fresh_isolates_give_the_same_outputs(single: SandboxPool) -> None:
    sources = [
        "input.a + 1",
        "const x = input.a;\nx * 2",
        "return input.a * 3",
        "if (input.a) {\n  return 'yes';\n}\nreturn 'no';",
        "let x = 1;",
        "[1, undefined, NaN]",
        "const e = new Error('m'); e.name = 'Custom'; String(e)",
        "const o = { toString() { return 'o' } }; o.valueOf = () => 7; [String(o), o + 1]",
        "[3, 1, 2].sort().map(String).join('-')",
        "typeof this",
        "this === globalThis",
        "Object.keys(input)",
        "'010'.replace(/(\\d)/g, '[$1]')",
        "with ({ a: 5 }) { a }",
        "010 + 1",
    ]
    for source in sources:
        assert await warm(single, source, {"a": 2}) == await single.run(source, {"a": 2})


async def test_a_slow_lockdown_error_keeps_its_message(single: SandboxPool) -> None:
    # The warm run uses most of the time limit, the fresh rerun cannot finish in the rest: the
    # author still sees the code's own error, not a timeout it did not cause. The work is
    # counted in loop rounds, not on the clock: the limit counts CPU, which a busy machine does
    # not stretch (a wall-clock spin used less of it the busier the machine).
    spin = "let x = 0; for (let i = 0; i < input; i++) { x = (x + i * 7) % 1000003 }"
    rounds = 25_000_000
    await single.run(spin, rounds, timeout_ms=60_000)  # a started worker, a compiled loop
    worker = next(iter(single._workers)).process.pid
    before = process_cpu_s(worker)
    await single.run(spin, rounds, timeout_ms=60_000)
    spin_ms = (process_cpu_s(worker) - before) * 1000
    with pytest.raises(CodeError, match="Cannot read properties of null"):
        await warm(single, spin + "; null.x", rounds, timeout_ms=max(100, round(spin_ms * 1.5)))


async def test_warm_timeout_is_enforced_and_the_next_call_starts_clean(single: SandboxPool) -> None:
    started = time.monotonic()
    with pytest.raises(CodeTimeout):
        await warm(single, "hidden = 1; while (true) {}", **FAST)
    with pytest.raises(CodeTimeout):
        await warm(single, "var hidden = input.secret; while (true) {}", SECRET, **FAST)
    # Two 300 ms limits; an unenforced one never ends, so a loaded machine gets generous slack.
    assert time.monotonic() - started < 10
    assert await warm(single, PROBE) == []


async def test_warm_memory_limits_hold_and_the_next_call_starts_clean(single: SandboxPool) -> None:
    with pytest.raises(CodeMemoryExceeded):
        await warm(single, GRADUAL_BOMB, memory_mb=16)
    with pytest.raises(CodeMemoryExceeded):
        await warm(single, "new Uint8Array(1024 * 1024 * 1024).length", memory_mb=16)
    with pytest.raises(SandboxError):
        await warm(single, "const a = []; a.length = 2 ** 31; a.fill(0); 1", memory_mb=16)
    assert await warm(single, "new Array(1e6).fill(1).length", memory_mb=64) == 1_000_000
    assert await warm(single, PROBE) == []


async def test_many_keys_stay_within_the_context_cap(single: SandboxPool) -> None:
    for n in range(40):
        assert await warm(single, f"input.n + {n}", {"n": 1}) == n + 1
    assert await warm(single, PROBE) == []
