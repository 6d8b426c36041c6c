"""Rate limits of app calls, in one place: which answers mean "slow down", how long to wait.

Every call to an app (app_action pages, http nodes with a connection, ai) goes through
`send_limited`. Waits happen inside the step, so a retry costs no checkpoint; they are bounded
by the app's `max_wait_s` and by the step's own time limit, and the runner's timeout or a
cancellation interrupts them like any other await.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

from weft.apps.call_model import RateLimit
from weft.clock import now
from weft.nodes.runtime import NodeFailure

DEFAULT_RATE_LIMIT = RateLimit()
# Reset headers hold a moment (epoch seconds or milliseconds) or a count of seconds: numbers
# past these are moments (2001-09-09 in seconds; in milliseconds, the same in 1970).
EPOCH_SECONDS = 1_000_000_000
EPOCH_MILLISECONDS = 1_000_000_000_000


class Answer(Protocol):
    status: int
    headers: dict[str, str]
    body: Any


AnswerT = TypeVar("AnswerT", bound=Answer)


def _number(text: str | None) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None  # not NaN/inf


def _retry_after(text: str | None, at: datetime) -> float | None:
    if (seconds := _number(text)) is not None:
        return max(seconds, 0.0)
    try:
        moment = parsedate_to_datetime(text or "")
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT; a zone-less one is read as such
        moment = moment.replace(tzinfo=at.tzinfo)
    return max((moment - at).total_seconds(), 0.0)


def _reset(text: str | None, at: datetime) -> float | None:
    value = _number(text)
    if value is None:
        return None
    if value >= EPOCH_MILLISECONDS:
        value /= 1000
    if value >= EPOCH_SECONDS:
        return max(value - at.timestamp(), 0.0)
    return max(value, 0.0)


def wait_asked(headers: Mapping[str, str], limit: RateLimit, at: datetime) -> float | None:
    """Seconds an answer asks to wait (Retry-After, retry-after-ms, reset headers), or None."""
    if (seconds := _retry_after(headers.get("retry-after"), at)) is not None:
        return seconds
    if (milliseconds := _number(headers.get("retry-after-ms"))) is not None:
        return max(milliseconds / 1000, 0.0)
    for name in limit.reset_headers:
        if (seconds := _reset(headers.get(name.lower()), at)) is not None:
            return seconds
    return None


def is_rate_limited(answer: Answer, limit: RateLimit, at: datetime) -> bool:
    """Whether `answer` means "slow down" by the app's declaration."""
    if answer.status in limit.statuses:
        return True
    if answer.status not in limit.statuses_with_wait:
        return False
    used_up = limit.remaining_header is not None and (
        answer.headers.get(limit.remaining_header.lower(), "").strip() == "0"
    )
    return used_up or _retry_after(answer.headers.get("retry-after"), at) is not None


def backoff_s(limit: RateLimit, retry: int) -> float:
    """Exponential backoff with jitter for the `retry`-th retry (0-based), at most max_wait_s."""
    delay = min(limit.backoff_s * 2**retry, limit.max_wait_s)
    return delay * random.uniform(0.5, 1.0)


def _moment(at: datetime, seconds: float) -> str:
    try:
        return (at + timedelta(seconds=seconds)).isoformat(timespec="seconds")
    except OverflowError:  # a hostile Retry-After of 1e300 s
        return "a date too far away to write"


async def send_limited(
    send: Callable[[], Awaitable[AnswerT]],
    limit: RateLimit | None,
    *,
    label: str,
    deadline: float | None = None,
) -> AnswerT:
    """`send()`, again after each rate-limited answer, as `limit` allows; NodeFailure past it.

    `deadline` (event-loop time) is when the step's time limit ends: a wait that would cross
    it fails now, saying when to try again, instead of timing out with no word why.
    """
    limit = limit or DEFAULT_RATE_LIMIT
    loop = asyncio.get_running_loop()
    retry = 0
    while True:
        answer = await send()
        at = now()
        if not is_rate_limited(answer, limit, at):
            return answer
        asked = wait_asked(answer.headers, limit, at)
        wait = asked if asked is not None else backoff_s(limit, retry)
        details = {
            "response": {"status": answer.status, "body": answer.body},
            "retry_after_s": wait,
            "retry_at": _moment(at, wait),
        }
        if wait > limit.max_wait_s:
            raise NodeFailure(
                f"{label} is rate limiting and asks to wait {wait:.0f} s, longer than the "
                f"{limit.max_wait_s:g} s a step waits; try again after {details['retry_at']}",
                details=details,
            )
        if retry >= limit.max_retries:
            raise NodeFailure(
                f"{label} is rate limiting (answered {answer.status} {retry + 1} times); "
                f"try again after {details['retry_at']}",
                retryable=True,
                details=details,
            )
        if deadline is not None and loop.time() + wait > deadline:
            raise NodeFailure(
                f"{label} is rate limiting and asks to wait {wait:.0f} s, past the step's time "
                f"limit; try again after {details['retry_at']}",
                retryable=True,
                details=details,
            )
        await asyncio.sleep(wait)
        retry += 1
