"""`clock.now()`: the wall clock in aware UTC, to the millisecond, reused within a millisecond."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from weft import clock

pytestmark = pytest.mark.unit


def test_now_is_the_wall_clock_in_utc_to_the_millisecond() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    moment = clock.now()
    after = datetime.now(UTC)
    assert moment.tzinfo is UTC
    assert moment.microsecond % 1000 == 0
    assert before <= moment <= after


def test_now_moves_on_with_the_clock_and_stays_frozen_when_frozen() -> None:
    began = time.monotonic()
    first = clock.now()
    time.sleep(0.005)  # the clock must move on: this is the time it moves by
    later = clock.now()
    slept = time.monotonic() - began  # however long a busy machine made it
    assert timedelta(milliseconds=4) <= later - first <= timedelta(seconds=slept + 0.002)
    pinned = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    clock.freeze(pinned)
    try:
        assert clock.now() == pinned
    finally:
        clock.freeze(None)
    assert clock.now() >= later
