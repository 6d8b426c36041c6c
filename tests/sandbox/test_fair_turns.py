"""The code pool shares its workers fairly: per-caller queues taken in turn, a cap per caller."""

from __future__ import annotations

import asyncio

import pytest

from support import wait_until
from weft.sandbox import SandboxPool
from weft.sandbox import pool as pool_module
from weft.sandbox.turns import FairTurns

pytestmark = pytest.mark.unit

BUSY_LOOP = "while (true) {}"


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_free_item_is_handed_over_at_once_only_when_nobody_waits_and_within_share() -> None:
    turns: FairTurns[str] = FairTurns(share=1)
    turns.put("w1")
    turns.put("w2")
    first = turns.take("a")
    with pytest.raises(StopIteration) as taken:  # returned without suspending
        first.send(None)
    assert taken.value.value == "w1" and turns.held("a") == 1
    over_share = asyncio.ensure_future(turns.take("a"))  # "a" holds its share: it waits
    await _settle()
    assert not over_share.done()
    assert await turns.take("b") == "w2"  # "b" is within its share; w2 is free
    turns.give_back("b", "w2")
    await _settle()
    assert not over_share.done()  # still over its share while it holds w1
    turns.give_back("a", "w1")
    assert await over_share in ("w1", "w2")


async def test_turns_go_round_robin_across_callers_not_first_come() -> None:
    turns: FairTurns[str] = FairTurns(share=1)
    served: list[str] = []

    async def call(caller: str, tag: str) -> None:
        item = await turns.take(caller)
        served.append(tag)
        await asyncio.sleep(0.01)
        turns.give_back(caller, item)

    # One worker; account a asks three times before b and c ask once each.
    calls = [asyncio.create_task(call("a", f"a{i}")) for i in range(3)]
    await _settle()
    calls += [asyncio.create_task(call("b", "b0")), asyncio.create_task(call("c", "c0"))]
    await _settle()
    turns.put("worker")
    await asyncio.gather(*calls)
    assert served == ["a0", "b0", "c0", "a1", "a2"]


async def test_a_caller_never_holds_more_than_its_share() -> None:
    turns: FairTurns[int] = FairTurns(share=2)
    for worker in range(4):
        turns.put(worker)
    held = [await turns.take("a"), await turns.take("a")]
    third = asyncio.create_task(turns.take("a"))
    await _settle()
    assert not third.done() and turns.held("a") == 2  # two workers stay free for others
    assert {await turns.take("b"), await turns.take("b")} | set(held) == {0, 1, 2, 3}
    turns.give_back("a", held[0])
    assert await asyncio.wait_for(third, 30) == held[0]


async def test_a_cancelled_wait_gives_up_its_turn_and_any_worker_it_was_handed() -> None:
    turns: FairTurns[str] = FairTurns(share=1)
    waiting = asyncio.create_task(turns.take("a"))
    await _settle()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert turns.waiting() == 0
    # Handed a worker in the same tick it was cancelled: the worker goes to the next caller.
    handed = asyncio.create_task(turns.take("a"))
    await _settle()
    turns.put("worker")
    handed.cancel()
    await asyncio.gather(handed, return_exceptions=True)
    assert turns.held("a") == 0
    assert await asyncio.wait_for(turns.take("b"), 30) == "worker"


def test_share_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FairTurns(share=0)


async def test_default_share_is_half_the_pool_and_at_least_one() -> None:
    assert SandboxPool(4).caller_share == 2
    assert SandboxPool(1).caller_share == 1
    assert SandboxPool(3, caller_share=9).caller_share == 3


@pytest.mark.integration  # a real V8 pool, unlike the rest of this module
async def test_one_callers_long_loops_leave_a_worker_for_another_caller() -> None:
    async with SandboxPool(2) as pool:
        loops = [
            asyncio.create_task(pool.run(BUSY_LOOP, None, timeout_ms=30_000, caller="org-a/acct"))
            for _ in range(4)
        ]
        # One loop holds the account's share (one worker), the three others queue behind it.
        await wait_until(lambda: pool._turns.waiting() == 3, what="the loops queueing")
        assert await pool.run("input + 1", 1, timeout_ms=5000, caller="org-b/acct") == 2
        # Answered while every loop still runs or waits: org-b never waited for a loop's end
        # (the bug: it queued behind them). No wall-clock bound, so a busy machine cannot fail it.
        assert not any(loop.done() for loop in loops)
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)


async def test_a_quick_turn_borrows_past_the_share_only_while_nobody_else_waits() -> None:
    turns: FairTurns[int] = FairTurns(share=1)
    for worker in range(3):
        turns.put(worker)
    first = await turns.take("a")
    # Alone, a borrowing turn takes a free worker past the share; a plain one would wait.
    assert await asyncio.wait_for(turns.take("a", may_borrow=True), 30) != first
    plain = asyncio.create_task(turns.take("a"))
    await _settle()
    assert not plain.done() and turns.held("a") == 2
    plain.cancel()
    await asyncio.gather(plain, return_exceptions=True)
    # With another caller waiting, a freed worker goes to it, not to a borrowing turn.
    assert await turns.take("c") == 2  # the last free worker
    borrowing = asyncio.create_task(turns.take("a", may_borrow=True))
    other = asyncio.create_task(turns.take("b"))
    await _settle()
    turns.give_back("a", first)
    assert await asyncio.wait_for(other, 30) == first
    await _settle()
    assert not borrowing.done()
    turns.give_back("c", 2)  # now only "a" waits: it may borrow
    assert await asyncio.wait_for(borrowing, 30) == 2


async def test_a_turn_says_whether_it_was_borrowed() -> None:
    turns: FairTurns[int] = FairTurns(share=1)
    for worker in range(3):
        turns.put(worker)
    assert await turns.take_turn("a", may_borrow=True) == (0, False)  # within the share
    assert await turns.take_turn("a", may_borrow=True) == (1, True)  # past it
    assert await turns.take_turn("b") == (2, False)
    waiting = asyncio.create_task(turns.take_turn("a", may_borrow=True))
    await _settle()
    turns.give_back("b", 2)  # handed over by dispatch, alone, past the share
    assert await asyncio.wait_for(waiting, 30) == (2, True)


async def _most_held(pool: SandboxPool, caller: str, calls: list[asyncio.Task[object]]) -> int:
    most = 0
    while not all(call.done() for call in calls):
        most = max(most, pool._turns.held(caller))
        await asyncio.sleep(0)
    await asyncio.gather(*calls)
    return most


@pytest.mark.integration  # a real V8 pool, unlike the rest of this module
async def test_quick_code_of_a_lone_account_uses_every_worker_slow_code_its_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "Quick" is judged by wall time. A loaded machine stretches a trivial call past the 50 ms of
    # QUICK_CALL_S (past 250 ms too, in a fresh clone's suite), so here quick means under 1 s and
    # the slow code busy-waits 1.2 s of wall time: the two stay apart however busy the machine,
    # and the judgment is still the pool's.
    monkeypatch.setattr(pool_module, "QUICK_CALL_S", 1.0)
    caller = "org-a/acct"
    async with SandboxPool(2) as pool:
        assert pool.caller_share == 1

        def calls(source: str, scope: str, count: int) -> list[asyncio.Task[object]]:
            run = pool.run(source, 1, caller=caller, scope=scope, timeout_ms=5000)
            return [asyncio.create_task(run)] + [
                asyncio.create_task(
                    pool.run(source, 1, caller=caller, scope=scope, timeout_ms=5000)
                )
                for _ in range(count - 1)
            ]

        for _ in range(3):  # a streak of quick calls makes the code quick
            await pool.run("return input + 1", 1, caller=caller, scope="v1")
        assert await _most_held(pool, caller, calls("return input + 1", "v1", 12)) == 2
        slow = "const end = Date.now() + 1200; while (Date.now() < end) {} return input"
        for _ in range(3):
            await pool.run(slow, 1, caller=caller, scope="v1", timeout_ms=5000)
        assert await _most_held(pool, caller, calls(slow, "v1", 3)) == 1
