"""store.brief_cache: answers kept for a moment, one read however many callers miss together."""

from __future__ import annotations

import asyncio

import pytest

from weft.store.brief_cache import BriefCache

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


class Reads:
    """A load that counts its calls and answers only when released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.answer: object = "answer"

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_callers_that_miss_together_share_one_read() -> None:
    cache, reads = BriefCache(2.0), Reads()
    waiting = [asyncio.ensure_future(cache.get_or_load("k", reads)) for _ in range(32)]
    await asyncio.sleep(0)
    reads.release.set()
    assert await asyncio.gather(*waiting) == ["answer"] * 32
    assert reads.calls == 1
    assert await cache.get_or_load("k", reads) == "answer" and reads.calls == 1


async def test_an_answer_expires_after_its_ttl_and_false_is_remembered() -> None:
    clock, reads = Clock(), Reads()
    cache = BriefCache(2.0, clock=clock)
    reads.answer = False
    reads.release.set()
    assert await cache.get_or_load("k", reads) is False
    clock.at += 1.9
    assert await cache.get_or_load("k", reads) is False and reads.calls == 1
    clock.at += 0.2
    assert await cache.get_or_load("k", reads) is False and reads.calls == 2


async def test_a_cancelled_caller_leaves_the_others_their_answer() -> None:
    cache, reads = BriefCache(2.0), Reads()
    first = asyncio.ensure_future(cache.get_or_load("k", reads))
    second = asyncio.ensure_future(cache.get_or_load("k", reads))
    await asyncio.sleep(0)
    first.cancel()
    reads.release.set()
    assert await second == "answer"
    assert first.cancelled() and reads.calls == 1


async def test_a_failed_read_reaches_every_waiter_and_is_not_remembered() -> None:
    cache, reads = BriefCache(2.0), Reads()
    reads.answer = OSError("database gone")
    waiting = [asyncio.ensure_future(cache.get_or_load("k", reads)) for _ in range(3)]
    await asyncio.sleep(0)
    reads.release.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(o, OSError) for o in outcomes) and reads.calls == 1
    reads.answer = "back"
    assert await cache.get_or_load("k", reads) == "back" and reads.calls == 2


async def test_a_read_under_way_when_its_key_is_forgotten_is_not_remembered() -> None:
    """A change (a new webhook, new quotas) made while the old answer was being read: the read
    still answers its callers, but the next caller reads again."""
    cache, reads = BriefCache(2.0), Reads()
    before = asyncio.ensure_future(cache.get_or_load(("org", "test"), reads))
    await asyncio.sleep(0)
    cache.forget(("org", "test"))
    reads.release.set()
    assert await before == "answer"
    assert cache.get(("org", "test")) is None
    assert await cache.get_or_load(("org", "test"), reads) == "answer" and reads.calls == 2


async def test_forget_where_drops_only_the_matching_keys() -> None:
    cache = BriefCache(2.0)
    for key in [("a", "test", "1"), ("a", "production", "2"), ("b", "test", "1")]:
        cache.put(key, key[2])
    cache.forget_where(lambda key: key[0] == "a")
    assert [cache.get(k) for k in [("a", "test", "1"), ("a", "production", "2")]] == [None, None]
    assert cache.get(("b", "test", "1")) == "1"
