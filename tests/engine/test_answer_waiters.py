"""`Answers` hands each waiter its run's answer: published in-process, else by one shared read."""

from __future__ import annotations

import asyncio

import pytest

from support import wait_until
from weft.engine.runs import states
from weft.engine.workers import answers as answers_module
from weft.engine.workers.answers import Answers, RunAnswer

pytestmark = pytest.mark.unit


async def test_a_published_answer_resolves_its_waiter_without_a_read() -> None:
    answers = Answers(tick_s=60)  # the shared read would come far too late to matter
    waiting = asyncio.create_task(answers.wait(None, "run-1", until_response=True, timeout_s=5))
    await asyncio.sleep(0)
    answers.publish(RunAnswer("run-1", states.RUNNING, {"body": {"ok": True}}))
    answer = await asyncio.wait_for(waiting, 30)
    assert answer == RunAnswer("run-1", states.RUNNING, {"body": {"ok": True}})


async def test_a_response_does_not_settle_a_caller_waiting_for_the_end() -> None:
    answers = Answers(tick_s=60)
    waiting = asyncio.create_task(answers.wait(None, "run-2", until_response=False, timeout_s=5))
    await asyncio.sleep(0)
    answers.publish(RunAnswer("run-2", states.RUNNING, {"body": 1}))
    # The response took the waiter's future; the caller waiting for the end waits again.
    await wait_until(lambda: "run-2" in answers._waiting, what="the caller waiting again")
    assert not waiting.done()
    answers.publish(RunAnswer("run-2", states.SUCCEEDED, {"body": 1}, output=3))
    assert (await asyncio.wait_for(waiting, 30)).output == 3


async def test_a_waiter_gets_none_when_its_bound_passes() -> None:
    answers = Answers(tick_s=60)
    assert await answers.wait(None, "run-3", until_response=True, timeout_s=0.05) is None
    assert not answers._waiting  # nothing left behind


class CountedReads:
    """Stands in for `_answered`: records each read's ids, answers from `ended`."""

    def __init__(self) -> None:
        self.reads: list[list[str]] = []
        self.ended: dict[str, RunAnswer] = {}

    async def __call__(self, db: object, ids: list[str]) -> list[RunAnswer]:
        self.reads.append(sorted(ids))
        return [self.ended[i] for i in ids if i in self.ended]


async def test_while_listening_each_waiter_is_read_once_not_every_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = CountedReads()
    monkeypatch.setattr(answers_module, "_answered", reads)
    answers = Answers(tick_s=0.01)
    answers.set_listening(True)
    waiting = asyncio.create_task(answers.wait("db", "run-4", until_response=True, timeout_s=5))
    # One read of the new waiter, then the fallback stops: nothing would read it again.
    await wait_until(lambda: reads.reads and answers._poller is None, what="the fallback ending")
    await asyncio.sleep(0.05)  # a few ticks (fewer on a busy machine, never a false failure)
    assert reads.reads == [["run-4"]]
    reads.ended["run-4"] = RunAnswer("run-4", states.SUCCEEDED, output=1)
    answers.announced("other-process:run-9,run-4")
    assert (await asyncio.wait_for(waiting, 30)).output == 1
    assert reads.reads == [["run-4"], ["run-4"]]  # only the waited-on run of the payload


async def test_own_announcements_and_unwaited_runs_cost_no_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = CountedReads()
    monkeypatch.setattr(answers_module, "_answered", reads)
    answers = Answers(tick_s=60)
    answers.set_listening(True)
    waiting = asyncio.create_task(answers.wait("db", "run-5", until_response=True, timeout_s=5))
    await asyncio.sleep(0)
    answers.announced(f"{answers_module.sender_token()}:run-5")  # published here directly
    answers.announced("other-process:run-6")  # nobody here waits on it
    await asyncio.sleep(0.01)  # a turn for a reader, had one been started (none must be)
    assert answers._reader is None and reads.reads == []
    waiting.cancel()


async def test_without_a_listener_the_fallback_reads_every_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = CountedReads()
    monkeypatch.setattr(answers_module, "_answered", reads)
    answers = Answers(tick_s=0.01)
    waiting = asyncio.create_task(answers.wait("db", "run-7", until_response=True, timeout_s=5))
    await wait_until(lambda: len(reads.reads) >= 5, what="five fallback reads")
    answers.set_listening(True)  # the listener is back: one read makes up for the gap
    await wait_until(lambda: answers._poller is None, what="the fallback ending")
    settled = len(reads.reads)
    await asyncio.sleep(0.05)  # a few ticks (fewer on a busy machine, never a false failure)
    assert len(reads.reads) == settled
    waiting.cancel()
