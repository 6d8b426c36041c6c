"""The transition table and what is generated from it (unit tier: no database)."""

from __future__ import annotations

import pytest

from weft.engine.runs import lifecycle, states
from weft.engine.runs.claim_sql import claim_text
from weft.store.dialects import DIALECTS

pytestmark = pytest.mark.unit


def test_terminal_statuses_have_no_way_out() -> None:
    for ended in states.TERMINAL:
        for status in (*states.ACTIVE, *states.TERMINAL):
            with pytest.raises(states.IllegalTransition):
                states.check_transition(ended, status)


def test_cancel_is_allowed_from_every_active_status_only() -> None:
    assert set(states.sources_of(states.CANCELLED)) == set(states.ACTIVE)


def test_the_claim_takes_only_statuses_the_table_lets_start_running() -> None:
    claimable = set(states.sources_of(states.RUNNING))
    assert claimable == {states.QUEUED, states.WAITING, states.RUNNING}
    for dialect in DIALECTS.values():
        claim = claim_text(dialect)
        candidates = claim.split("candidates AS MATERIALIZED (", 1)[1].split(")", 1)[0]
        assert all(f"'{status}'" in candidates for status in claimable)


def test_a_worker_cannot_end_a_run_into_a_status_the_table_forbids() -> None:
    with pytest.raises(states.IllegalTransition):
        lifecycle.finishing(
            execution_id="x", owner="w", attempt=1, status=states.QUEUED + "?", steps=[]
        )


def test_every_route_to_an_end_runs_the_same_hooks_in_order() -> None:
    kinds = [type(hook).__name__ for hook in lifecycle.RUN_ENDED_HOOKS]
    assert kinds == [
        "QueueOrgNotifications",
        "CountRunEnded",
        "WakeRunWaiters",
        "WakeWaitingParent",
    ]


def test_every_status_has_an_api_name() -> None:
    assert set(states.API_STATUS) == {*states.ACTIVE, *states.TERMINAL}
