"""Response and request models shared by routers. Refold field names live only here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from weft.api.stored import bounded
from weft.clock import isoformat
from weft.store.pagination import Page

T = TypeVar("T")


class Out(BaseModel):
    """Base of response models: Refold's names by alias, dates as `...sssZ`, stored JSON cut
    where it nests deeper than a response can carry (see `stored.py`)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @field_serializer("*", when_used="json")
    def _dates_and_depth(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return isoformat(value)
        if isinstance(value, dict | list):
            return bounded(value)
        return value


class ErrorOut(BaseModel):
    """The error envelope (documented for OpenAPI)."""

    status_code: int
    http_error_type: str
    error_code: str
    message: str
    request_id: str


class PageOut(Out, Generic[T]):
    """Refold's pagination envelope."""

    docs: list[T]
    total_docs: int = Field(alias="totalDocs")
    limit: int
    page: int
    total_pages: int = Field(alias="totalPages")
    paging_counter: int = Field(alias="pagingCounter")
    has_prev_page: bool = Field(alias="hasPrevPage")
    has_next_page: bool = Field(alias="hasNextPage")
    prev_page: int | None = Field(alias="prevPage")
    next_page: int | None = Field(alias="nextPage")

    @classmethod
    def of(cls, page: Page[Any], docs: list[Any]) -> PageOut[Any]:
        """Wrap one page of already-converted docs."""
        return cls(
            docs=docs,
            total_docs=page.total,
            limit=page.limit,
            page=page.page,
            total_pages=page.total_pages,
            paging_counter=(page.page - 1) * page.limit + 1,
            has_prev_page=page.page > 1,
            has_next_page=page.page < page.total_pages,
            prev_page=page.page - 1 if page.page > 1 else None,
            next_page=page.page + 1 if page.page < page.total_pages else None,
        )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in [
        (400, "Invalid input"),
        (401, "Missing or bad credentials"),
        (404, "Not found, or not yours"),
        (413, "Body too large"),
    ]
}
