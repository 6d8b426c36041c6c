"""A quick streak lends a worker to one short call, never to a slow input of the same code."""

from __future__ import annotations

import asyncio
import time

import pytest

from support import process_cpu_s
from weft.sandbox import CodeError, CodeTimeout, SandboxPool
from weft.sandbox import pool as pool_module

pytestmark = pytest.mark.integration

LONE = "org-a/acct"
OTHER = "org-b/acct"
SCOPE = "wf-1@1"
# Quick or slow by its input: a busy wait of `input` ms of wall time.
SPIN = "const end = Date.now() + input; while (Date.now() < end) {} return input"
# The same, then a TypeError: the warm runner retries such an error in a fresh isolate.
SPIN_THEN_THROW = "const end = Date.now() + input; while (Date.now() < end) {} null.x"
SPIN_LIMIT_MS = 6000


async def test_a_quick_streak_then_a_spinning_input_keeps_another_accounts_wait_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A loaded machine stretches a trivial call past the 50 ms of QUICK_CALL_S (past 250 ms too,
    # at load average 8); 5 s keeps the streak the pool's own judgment however busy the machine.
    monkeypatch.setattr(pool_module, "QUICK_CALL_S", 5.0)
    async with SandboxPool(2) as pool:
        assert pool.caller_share == 1
        began = time.monotonic()
        assert await pool.run("1 + 1", None, caller=OTHER, timeout_ms=5000) == 2
        baseline_s = time.monotonic() - began
        for _ in range(3):  # three quick calls: the code is quick
            assert await pool.run(SPIN, 0, caller=LONE, scope=SCOPE) == 0
        assert pool._is_quick(pool_module.warm_key(LONE, SCOPE, SPIN))

        def spin() -> asyncio.Task[object]:
            return asyncio.create_task(
                pool.run(SPIN, 60_000, caller=LONE, scope=SCOPE, timeout_ms=SPIN_LIMIT_MS)
            )

        # The same code, an input that spins: one call holds the account's share, the next
        # borrows the other worker (the bug: for its whole time limit).
        # A call takes its worker before its first pause (nothing else to await first).
        spins = [spin()]
        await asyncio.sleep(0)
        assert pool._turns.held(LONE) == 1
        spins.append(spin())
        await asyncio.sleep(0)
        assert pool._turns.held(LONE) == 2  # borrowed

        began = time.monotonic()
        assert await pool.run("1 + 1", None, caller=OTHER, timeout_ms=5000) == 2
        waited_s = time.monotonic() - began
        # Answered while both spins still run or wait: the other account never waited for a
        # spin's time limit (before the fix it waited 6 s, for the borrowed spin to time out).
        assert not any(call.done() for call in spins)
        # The documented bound is BORROWED_CALL_S plus a hand-over; generously, on a busy machine.
        assert waited_s < baseline_s + pool_module.BORROWED_CALL_S + 2.5, (waited_s, baseline_s)
        # The reclaimed call ran again within its share, with what was left of its own limit.
        for result in await asyncio.gather(*spins, return_exceptions=True):
            assert isinstance(result, CodeTimeout), result


async def test_a_spin_that_ends_in_a_type_error_never_runs_past_its_time_limit() -> None:
    async with SandboxPool(1) as pool:
        worker = next(iter(pool._workers)).process.pid
        began = process_cpu_s(worker)
        # The warm run spins 5.7 s of wall time and throws; its retry in a fresh isolate gets
        # only the CPU left of the 6 s (before the fix it had another 6 s: 11.4 s in all). Quiet,
        # the retry cannot finish in the 0.3 s left, so the author sees the code's own error.
        # Busy, the spins use less CPU than their wall time: the retry may run out of what is
        # left (a timeout) or finish (the same error). Either way the CPU stays within the limit.
        with pytest.raises((CodeError, CodeTimeout)) as raised:
            await pool.run(SPIN_THEN_THROW, 5700, caller=LONE, scope=SCOPE, timeout_ms=6000)
        if not isinstance(raised.value, CodeTimeout):
            assert "Cannot read properties of null" in str(raised.value)
        used_s = process_cpu_s(worker) - began
        assert used_s < 6.0 * 1.25, used_s  # both runs together: the limit, and a little
        # The pool answers normally afterwards.
        assert await pool.run("1 + 1", None, caller=LONE, timeout_ms=5000) == 2
