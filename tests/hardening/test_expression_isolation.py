"""An expression, however costly, never holds the event loop: health and other tenants answer."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from engine.flows import BASE, execute, finished, publish
from graphs import MANUAL_START, node
from support import Tenant, TenantFactory
from weft.engine.host import Engine
from weft.expressions.evaluator import ExpressionError, Limits
from weft.expressions.offload import evaluate_off_loop

pytestmark = pytest.mark.integration

# Backtracking engines take ~2^n steps on this pattern; RE2 is linear.
CATASTROPHIC_REGEX = '{{ $match("' + "a" * 23 + '!", /(a+)+$/) }}'
# No regex at all: a quadratic builtin loop that never returns to jsonata's time check.
SLOW_BUILTIN = '{{ $replace($pad("", 1000000, "a"), "a", "bb") }}'


async def _probe(client: httpx.AsyncClient, other: Tenant, times: dict[str, list[float]]) -> None:
    """Call /healthz and another tenant's list over and over, recording how long each took."""
    calls = {"health": ("/healthz", {}), "other": (f"{BASE}/workflow", other.bearer)}
    while True:
        for label, (path, headers) in calls.items():
            began = time.perf_counter()
            answer = await client.get(path, headers=headers)
            times[label].append(time.perf_counter() - began)
            assert answer.status_code == 200, answer.text
        await asyncio.sleep(0.01)


async def _tick(gaps: list[float]) -> None:
    """Sleep 10 ms over and over, recording how long each sleep really took (the loop's lag)."""
    while True:
        began = time.perf_counter()
        await asyncio.sleep(0.01)
        gaps.append(time.perf_counter() - began)


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
    await asyncio.sleep(0.2)  # a few probes even if the run was quick
    probe.cancel()
    ticker.cancel()
    assert max(gaps) < 0.25, f"the event loop stalled for {max(gaps):.3f} s"
    assert max(times["health"]) < 0.1, f"/healthz waited {max(times['health']):.3f} s"
    # The other tenant's call reads the database, which the run also writes; on a loaded CI
    # machine (and PostgreSQL's round trips) single calls take a few hundred milliseconds
    # whatever runs, so it is held to 1.5 s: before expressions left the event loop it waited
    # out the whole expression (seconds for the regex, most of a minute for the builtin).
    assert max(times["other"]) < 1.5, times["other"]
    assert done["status"] in {"COMPLETED", "FAILED"}, done


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
async def test_regex_literals_run_on_re2_in_linear_time() -> None:
    began = time.perf_counter()
    assert await evaluate_off_loop('$match("' + "a" * 5000 + '!", /(a+)+$/)', {}) is None
    assert time.perf_counter() - began < 1
    assert await evaluate_off_loop('$replace("a\\nb", /^b/m, "c")', {}) == "a\nc"
    assert await evaluate_off_loop('$contains("HeLLo", /ll/i)', {}) is True


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
async def test_builtin_that_ignores_the_time_check_is_stopped_by_the_hard_limit() -> None:
    began = time.perf_counter()
    with pytest.raises(ExpressionError, match="too long"):
        await evaluate_off_loop(SLOW_BUILTIN[3:-3], {}, Limits(timeout_ms=100))
    assert time.perf_counter() - began < 2
    assert await evaluate_off_loop("1 + 1", {}) == 2  # the evaluation threads still serve
