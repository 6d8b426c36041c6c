"""Notification deliveries inserted by a group commit through SQLAlchemy Core: SQLite's whole
batch, and on PostgreSQL those a batch's failure streaks queue (engine.runs.failure_streaks)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, exists, insert, select

from weft.store.tables import NotificationDelivery, NotificationSubscription


def insert_deliveries(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows`, one executemany per set of columns, each only while its subscription
    still exists."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for columns, members in groups.items():
        connection.execute(_insert_deliveries(columns), members)


@functools.cache
def _insert_deliveries(columns: tuple[str, ...]) -> Insert:
    """Notification deliveries of `columns`, each only while its subscription still exists (it
    may have been deleted since the end's deliveries were read). Built once per set of columns:
    SQLAlchemy memoises a statement's cache key on the object."""
    table = NotificationDelivery.__table__
    params = {c: bindparam(c, type_=table.c[c].type) for c in columns}
    values = select(*params.values()).where(
        exists().where(NotificationSubscription.id == params["subscription_id"])
    )
    return insert(table).from_select(list(columns), values)
