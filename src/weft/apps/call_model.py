"""How calls to an app are paged and slowed down: the pagination and rate-limit parts of an
app definition (apps/model.py), read by apps/paging.py and apps/limits.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A dotted path into a response body (`data`, `paging.next.after`); `$` is the body itself.
RESPONSE_PATH = r"^(\$|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)$"
# The most pages one call fetches whatever a definition says: a runaway API stops here.
MAX_PAGES_CEILING = 500


class _Paging(_Strict):
    # The parameter that sets the page size, and the size sent when the caller gives none.
    size_param: str | None = None
    page_size: int | None = Field(None, ge=1, le=1000)
    max_pages: int = Field(50, ge=1, le=MAX_PAGES_CEILING)


class CursorPagination(_Paging):
    """The next page is asked for with a cursor the previous page gave.

    `next` is where the cursor is in the body (Slack's `response_metadata.next_cursor`);
    `last_item` instead takes it from the last item (Stripe's `id` for `starting_after`);
    `has_more` (optional) is a boolean in the body that says whether to go on.
    """

    type: Literal["cursor"] = "cursor"
    param: str
    next: str | None = Field(None, pattern=RESPONSE_PATH)
    last_item: str | None = Field(None, pattern=RESPONSE_PATH)
    has_more: str | None = Field(None, pattern=RESPONSE_PATH)

    @model_validator(mode="after")
    def _one_cursor_source(self) -> CursorPagination:
        if (self.next is None) == (self.last_item is None):
            raise ValueError("cursor pagination takes exactly one of next and last_item")
        return self


class PagePagination(_Paging):
    """Pages by number (`offset: false`, from `start`) or by item offset (`offset: true`).

    Stops at an empty page, or one shorter than the page size.
    """

    type: Literal["page"] = "page"
    param: str
    offset: bool = False
    # The first page's number or offset; unset: 1 for page numbers, 0 for offsets.
    start: int | None = Field(None, ge=0)


class LinkPagination(_Paging):
    """The next page's URL: the RFC 8288 `Link: <...>; rel="next"` header, or `next_url` in
    the body (Salesforce's `nextRecordsUrl`); it must stay on the first request's origin."""

    type: Literal["link"] = "link"
    next_url: str | None = Field(None, pattern=RESPONSE_PATH)


Paging = CursorPagination | PagePagination | LinkPagination
Pagination = Annotated[Paging, Field(discriminator="type")]


class RateLimit(_Strict):
    """Which answers mean "slow down", and how long to wait before asking again.

    A wait comes from `Retry-After` (seconds or an HTTP date), `retry-after-ms`, or a reset
    header (epoch seconds, epoch milliseconds or seconds from now); without one, exponential
    backoff with jitter from `backoff_s`. A wait longer than `max_wait_s` fails the step at
    once, saying when to try again.
    """

    statuses: list[int] = Field(default_factory=lambda: [429])
    # Answers that mean "slow down" only when they say how long to wait (a 503 with
    # Retry-After; GitHub's 403 with x-ratelimit-remaining: 0).
    statuses_with_wait: list[int] = Field(default_factory=lambda: [503])
    reset_headers: list[str] = Field(
        default_factory=lambda: ["x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"]
    )
    # A header that reads 0 when the limit is used up, which makes a statuses_with_wait answer
    # a rate limit even without Retry-After.
    remaining_header: str | None = "x-ratelimit-remaining"
    max_retries: int = Field(3, ge=0, le=10)
    backoff_s: float = Field(1.0, ge=0, le=60)
    max_wait_s: float = Field(60.0, ge=0, le=600)
