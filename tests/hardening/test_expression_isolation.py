"""An expression, however costly, never holds the event loop: health and other tenants answer."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator

import httpx
import pytest

from engine.flows import BASE, execute, finished, publish
from graphs import MANUAL_START, node
from support import Tenant, TenantFactory, wait_until
from weft.engine.workers.host import Engine
from weft.expressions.evaluator import ExpressionError, Limits
from weft.expressions.offload import evaluate_off_loop

pytestmark = pytest.mark.integration

# Backtracking engines take ~2^n steps on this pattern; RE2 is linear.
CATASTROPHIC_REGEX = '{{ $match("' + "a" * 23 + '!", /(a+)+$/) }}'
# No regex at all: a quadratic builtin loop that never returns to jsonata's time check.
SLOW_BUILTIN = '{{ $replace($pad("", 1000000, "a"), "a", "bb") }}'


# Each figure below is CPU time of the event loop's own thread (`time.thread_time`, read on the
# loop), not wall time: a busy machine stretches wall time at random, but the loop's thread only
# spends CPU on what it runs itself. An expression evaluated on the loop (the bug) puts all of its
# seconds of CPU inside one tick and one call; evaluated off the loop, a tick or a call costs the
# loop a few milliseconds however long the expression takes.


async def _probe(client: httpx.AsyncClient, other: Tenant, times: dict[str, list[float]]) -> None:
    """Call /healthz and another tenant's list over and over, recording the loop's CPU for each."""
    calls = {"health": ("/healthz", {}), "other": (f"{BASE}/workflow", other.bearer)}
    while True:
        for label, (path, headers) in calls.items():
            began = time.thread_time()
            answer = await client.get(path, headers=headers)
            times[label].append(time.thread_time() - began)
            assert answer.status_code == 200, answer.text
        await asyncio.sleep(0.01)


async def _tick(gaps: list[float]) -> None:
    """Sleep 10 ms over and over, recording the loop's CPU across each sleep (its stalls)."""
    while True:
        began = time.thread_time()
        await asyncio.sleep(0.01)
        gaps.append(time.thread_time() - began)


@pytest.fixture
def served_heap() -> Iterator[None]:
    """What is alive now frozen, as `weft serve` freezes its start-up heap. Without it, a full
    collection walks everything the earlier tests of this xdist worker left alive, on whichever
    thread allocates next: 3.6 s of the loop's CPU in one tick, late in a CI run. (Not
    collected first: late in a run that took 37 s.)"""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("served_heap")
@pytest.mark.parametrize("expression", [CATASTROPHIC_REGEX, SLOW_BUILTIN], ids=["regex", "builtin"])
async def test_costly_expression_never_delays_health_or_other_tenants(
    client: httpx.AsyncClient,
    make_tenant: TenantFactory,
    engine: Engine,
    expression: str,
) -> None:
    attacker, other = await make_tenant(), await make_tenant()
    workflow = await publish(
        client, attacker, [MANUAL_START, node("2", "transform", "Costly", value=expression)]
    )
    await client.get("/healthz")  # warm up the routes before timing them
    await client.get(f"{BASE}/workflow", headers=other.bearer)
    times: dict[str, list[float]] = {"health": [], "other": []}
    gaps: list[float] = []
    probe = asyncio.create_task(_probe(client, other, times))
    ticker = asyncio.create_task(_tick(gaps))
    started = await execute(client, attacker, workflow, {})
    done = await finished(client, attacker, started.json()["execution_id"], timeout_s=10)
    probed = len(times["other"])
    await wait_until(lambda: len(times["other"]) >= probed + 5, what="a few more probes")
    probe.cancel()
    ticker.cancel()
    # On the loop, the regex would take seconds and the builtin most of a minute (it never
    # returns to jsonata's 250 ms time check): far past these bounds, which are ten times what
    # a tick or a call costs the loop even on PostgreSQL.
    assert max(gaps) < 0.25, f"the event loop ran {max(gaps):.3f} s of CPU in one tick"
    assert max(times["health"]) < 0.1, f"/healthz cost the loop {max(times['health']):.3f} s"
    assert max(times["other"]) < 0.25, times["other"]
    assert done["status"] in {"COMPLETED", "FAILED"}, done


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
async def test_regex_literals_run_on_re2_in_linear_time() -> None:
    began = time.perf_counter()
    assert await evaluate_off_loop('$match("' + "a" * 5000 + '!", /(a+)+$/)', {}) is None
    # Linear: milliseconds. Backtracking would take 2^5000 steps, never ending: a bound ten
    # times the hard limit catches it and holds on any loaded machine.
    assert time.perf_counter() - began < 10
    assert await evaluate_off_loop('$replace("a\\nb", /^b/m, "c")', {}) == "a\nc"
    assert await evaluate_off_loop('$contains("HeLLo", /ll/i)', {}) is True


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
async def test_builtin_that_ignores_the_time_check_is_stopped_by_the_hard_limit() -> None:
    began = time.perf_counter()
    with pytest.raises(ExpressionError, match="too long"):
        # jsonata-python's hard limit (jlens's: test_expression_native.py)
        await evaluate_off_loop(SLOW_BUILTIN[3:-3], {}, Limits(timeout_ms=100, native=False))
    # Stopped at the 0.3 s hard limit; without it the builtin runs most of a minute, far past
    # a bound generous enough for a loaded machine.
    assert time.perf_counter() - began < 10
    assert await evaluate_off_loop("1 + 1", {}) == 2  # the evaluation threads still serve
