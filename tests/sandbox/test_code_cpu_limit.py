"""A code step's time limit counts its worker's CPU: a busy machine fails nothing that passes
alone, and a runaway is still stopped at its limit."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from support import process_cpu_s
from weft.sandbox import CodeTimeout, SandboxPool

pytestmark = pytest.mark.integration

CALLER = "org-a/acct"
# Pure computation, `input` rounds of it: ~0.2 s of CPU, long enough that eight spinning
# processes stretch its wall time by their share of the cores, not by a scheduler's whim (at
# ~20 ms a call could finish inside one or two time slices and never be stretched).
WORK = "let x = 0; for (let i = 0; i < input; i++) { x = (x + i * 7) % 1000003 } x"
ROUNDS = 25_000_000


@contextmanager
def _cpu_burners(count: int) -> Iterator[None]:
    """Processes that spin on every core, so a worker gets a small share of the CPU."""
    spin = [sys.executable, "-c", "while True: pass"]
    burners = [subprocess.Popen(spin) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


async def test_a_busy_machine_does_not_fail_code_that_passes_alone() -> None:
    async with SandboxPool(1) as pool:
        await pool.run(WORK, ROUNDS, caller=CALLER, timeout_ms=60_000)  # a warm worker
        worker = next(iter(pool._workers)).process.pid
        before = process_cpu_s(worker)
        for _ in range(3):
            await pool.run(WORK, ROUNDS, caller=CALLER, timeout_ms=60_000)
        solo_cpu_s = (process_cpu_s(worker) - before) / 3
        # A limit a few times what the call costs alone; eight spinning processes on this
        # machine's cores stretch its wall time well past that.
        timeout_ms = max(100, round(solo_cpu_s * 2500))
        walls = []
        with _cpu_burners(8):
            for _ in range(3):
                began = time.monotonic()
                await pool.run(WORK, ROUNDS, caller=CALLER, timeout_ms=timeout_ms)
                walls.append(time.monotonic() - began)
    # The control: the load did stretch calls past the limit, which a wall clock would fail.
    assert max(walls) * 1000 > timeout_ms, (walls, timeout_ms, solo_cpu_s)


async def test_a_runaway_is_stopped_at_its_limit_busy_or_not() -> None:
    async with SandboxPool(1) as pool:
        for burners in (0, 8):
            with _cpu_burners(burners):
                began = time.monotonic()
                with pytest.raises(CodeTimeout):
                    await pool.run("while (true) {}", None, caller=CALLER, timeout_ms=200)
                # Stopped after 200 ms of its own CPU; unstopped it never ends. Generous for a
                # loaded machine.
                assert time.monotonic() - began < 30
        assert await pool.run("1 + 1", None, caller=CALLER) == 2  # the pool still serves
