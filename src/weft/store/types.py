"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator

from weft.store.dialects import DIALECTS
from weft.store.json_codec import valid_json

# The dialects (by SQLAlchemy's name, which a column type is given) that keep no time zone.
_ZONELESS = frozenset(name for name, d in DIALECTS.items() if not d.keeps_time_zones)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in, the same out, whatever the dialect keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        # SQLite keeps no zone: store naive UTC so string comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name in _ZONELESS else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def plain_bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """`process_bind_param` without the TypeDecorator's layers where the dialect keeps
        zones, for writers that encode rows themselves (store.raw_postgres: every step row
        has two times); None elsewhere."""
        return None if dialect.name in _ZONELESS else _aware_utc


def _aware_utc(value: datetime | None) -> datetime | None:
    # `clock.now()`'s times are UTC already: they go as they are.
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    return value.astimezone(UTC)


def _json_type() -> Any:
    json_type = JSON()
    for name, dialect in DIALECTS.items():
        json_type = json_type.with_variant(dialect.json_type, name)
    return json_type


# Each dialect's own JSON type (JSONB on PostgreSQL: indexable, compact; JSON text on SQLite).
JSONType: Any = _json_type()


class ValidText(TypeDecorator[str]):
    """Text from outside (an error message quoting an answer), its lone surrogates and NULs
    made U+FFFD as in JSON columns (store.json_codec): neither database keeps them."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else valid_json(value)
