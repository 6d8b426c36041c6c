"""Response and request models shared by routers. Refold field names live only here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from weft.api.stored import bounded
from weft.clock import isoformat
from weft.store.pagination import Page

T = TypeVar("T")


class Out(BaseModel):
    """Base of response models: Refold's names by alias, dates as `...sssZ`, stored JSON cut
    where it nests deeper than a response can carry (see `stored.py`)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    # A wrap serializer with no return type keeps every field's type in the OpenAPI schema (a
    # `*` field serializer, or a return type, would document the whole model as "any").
    @model_serializer(mode="wrap")
    def _dates_and_depth(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):  # type: ignore[no-untyped-def]
        if not info.mode_is_json():
            return handler(self)
        # Cut deep JSON before the handler serialises it: its own depth limit would raise first.
        fields = type(self).model_fields
        cut = {
            name: bounded(value)
            for name in fields
            if isinstance(value := getattr(self, name, None), dict | list)
        }
        changed = {name: value for name, value in cut.items() if value is not getattr(self, name)}
        data = handler(self.model_copy(update=changed) if changed else self)
        if not isinstance(data, dict):
            return data
        for name, field in fields.items():
            value = getattr(self, name, None)
            if isinstance(value, datetime):
                for key in (field.alias, name):
                    if key in data:
                        data[key] = isoformat(value)
                        break
        return data


class ErrorOut(BaseModel):
    """Refold's error envelope: every error Weft answers has this shape (and may add fields)."""

    model_config = ConfigDict(extra="allow")

    status_code: int
    http_error_type: str
    error_code: str
    error: str = Field(description="The same code as error_code (Refold's newer name for it)")
    message: str
    request_id: str = Field(description="Also sent as the x-request-id header")
    errors: list[dict[str, Any]] | None = Field(
        None, description="400: each invalid field; 422: every problem of the graph, per node"
    )


class PageOut(Out, Generic[T]):
    """Refold's pagination envelope."""

    docs: list[T]
    total_docs: int = Field(alias="totalDocs")
    total_docs_exact: bool = Field(
        True,
        alias="totalDocsExact",
        description="False when totalDocs is a lower bound: counting stops 1,000 rows past "
        "the page (hasNextPage and nextPage stay exact)",
    )
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
            total_docs_exact=page.exact,
            limit=page.limit,
            page=page.page,
            total_pages=page.total_pages,
            paging_counter=(page.page - 1) * page.limit + 1,
            has_prev_page=page.page > 1,
            has_next_page=page.page < page.total_pages,
            prev_page=page.page - 1 if page.page > 1 else None,
            next_page=page.page + 1 if page.page < page.total_pages else None,
        )


# Kept for routers that pass it; weft.api.openapi declares each route's error statuses itself.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in [
        (400, "Invalid input"),
        (401, "Missing or bad credentials"),
        (404, "Not found, or not yours"),
        (413, "Body too large"),
    ]
}
