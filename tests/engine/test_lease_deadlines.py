"""A worker starts a step with outside effects only while it knows its lease holds (unit tier)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from weft.clock import freeze, now
from weft.engine.runs.queue import Claimed, LeaseDeadlines, LeaseLost

pytestmark = pytest.mark.unit


def claim(attempt: int) -> Claimed:
    return Claimed(
        id="run",
        org_id="org",
        environment="test",
        linked_account_pk="acct",
        workflow_id="wf",
        version=1,
        is_test=False,
        trigger="execute",
        input=None,
        attempt=attempt,
        created_at=datetime.now(UTC),
        parent_execution_id=None,
    )


def test_a_lapsed_lease_stops_the_next_outside_effect_until_renewed() -> None:
    leases = LeaseDeadlines(lease_s=30)
    leases.claimed(claim(1), since=time.monotonic() - 31)  # stalled past the lease
    with pytest.raises(LeaseLost):
        leases.check("run", 1)
    leases.renewed("run", since=time.monotonic())
    leases.check("run", 1)


def test_an_earlier_claim_of_the_same_run_is_not_the_current_one() -> None:
    leases = LeaseDeadlines(lease_s=30)
    leases.claimed(claim(1), since=time.monotonic())
    leases.claimed(claim(2), since=time.monotonic())
    with pytest.raises(LeaseLost):
        leases.check("run", 1)
    leases.forget("run", 1)  # the stale task ends: the newer claim keeps its deadline
    leases.check("run", 2)
    leases.forget("run", 2)
    with pytest.raises(LeaseLost):
        leases.check("run", 2)


def test_a_wall_clock_jump_past_the_lease_stops_the_next_outside_effect() -> None:
    # Other workers compare the lease with the wall clock: once it jumps past, they may reclaim.
    leases = LeaseDeadlines(lease_s=30)
    leases.claimed(claim(1), since=time.monotonic())
    leases.check("run", 1)
    try:
        freeze(now() + timedelta(seconds=31))
        with pytest.raises(LeaseLost):
            leases.check("run", 1)
    finally:
        freeze(None)
