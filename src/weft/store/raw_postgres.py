"""PostgreSQL's hottest writes on asyncpg directly: a group commit's batch as one statement.

Through SQLAlchemy each statement of a group commit cost more CPU in this process than
PostgreSQL spent running it (compiling parameters, the greenlet bridge of `run_sync`, the
pool's pre-ping), and a fenced update was one statement per run, since asyncpg's executemany
returns no row counts. Here a group of rows travels as one JSON document, read by
`json_to_recordset` in the statement (engine.writes.fenced_postgres builds it): the text is the same
for every batch size, so asyncpg prepares it once per connection. (One array parameter per
column came first: asyncpg encoded those element by element, at twice this process's CPU of
one orjson document, while PostgreSQL parses the document for about the same.) Values are
converted by the column types' own SQLAlchemy bind processors (aware UTC datetimes, JSON with
`None` as JSON null), JSON by orjson (store.json_codec), so a row written here reads back exactly
as one written through the ORM.

The connections are a small pool of their own, not SQLAlchemy's: they carry none of its codecs
or state, and skip asyncpg's reset round trip on every release.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy import JSON, Column, Dialect, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from weft.store import sql_counter
from weft.store.json_codec import dump_json_for_jsonb

# The driver arguments SQLAlchemy's asyncpg dialect takes from the URL but asyncpg does not.
_DIALECT_ONLY_ARGUMENTS = (
    "prepared_statement_cache_size",
    "prepared_statement_name_func",
    "async_fallback",
)


BATCH_APPLICATION_NAME = "weft-batch"


def asyncpg_connect_arguments(engine: AsyncEngine) -> dict[str, Any]:
    """The keyword arguments of `asyncpg.connect` for the engine's database: those SQLAlchemy
    derives from its URL (host, port, user, password, database, ssl, server settings), less
    the ones only SQLAlchemy's dialect understands. Every asyncpg connection of ours (batch
    pool, LISTEN) is made from them."""
    _args, options = engine.dialect.create_connect_args(engine.url)
    return {k: v for k, v in options.items() if k not in _DIALECT_ONLY_ARGUMENTS}


class RawPostgres:
    """A few asyncpg connections to the engine's database, for batched writes."""

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        self._options = asyncpg_connect_arguments(engine)
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        # Its initialisation, awaited by every user: the first batches may arrive together.
        self._pool_ready: asyncio.Future[Any] | None = None

    async def _pool_here(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_ready is None or self._pool_loop is not loop:
            if self._pool is not None:
                self._pool.terminate()  # made on a loop that is gone (a CLI command's earlier run)
            self._pool_loop = loop
            self._pool = asyncpg.create_pool(
                min_size=0,
                max_size=self._size,
                init=_counted,
                reset=_end_transaction,
                **{k: v for k, v in self._options.items() if k != "server_settings"},
                server_settings={
                    **self._options.get("server_settings", {}),
                    # Seen in pg_stat_activity for what they are.
                    "application_name": BATCH_APPLICATION_NAME,
                    # The batch statements' plans do not depend on their documents' contents…
                    "plan_cache_mode": "force_generic_plan",
                    # …but a connection plans each text once, often while the tables are
                    # nearly empty, when a sequential scan looks cheapest; the plan then stays
                    # as the table grows, and every batch read all of executions. Here every
                    # row is reached by its key, so a sequential scan is never the right plan.
                    "enable_seqscan": "off",
                },
            )
            self._pool_ready = asyncio.ensure_future(_initialised(self._pool))
        pool, ready = self._pool, self._pool_ready
        try:
            await asyncio.shield(ready)  # one caller's cancellation must not stop it for all
        except Exception:
            if ready.done() and self._pool is pool:
                self._pool = None  # it failed: the next batch tries again
            raise
        return pool

    async def fetch(self, sql: str, arguments: Sequence[Any]) -> list[asyncpg.Record]:
        """Run one statement in a transaction of its own; the rows it returns.

        One round trip: no BEGIN or COMMIT of their own. A connection the server dropped while
        it sat in the pool is noticed by the event loop (the socket closes), and the pool
        replaces it before handing it out."""
        pool = await self._pool_here()
        _observe(sql, arguments)
        async with pool.acquire() as connection:
            return await connection.fetch(sql, *arguments)

    async def close(self) -> None:
        """Close the pool's connections (when made on this loop; otherwise drop them)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._pool_loop is asyncio.get_running_loop():
            await pool.close()
        else:
            pool.terminate()


async def _initialised(pool: asyncpg.Pool) -> None:
    await pool


# Called with each statement's text and arguments before it runs here (tests watch them).
statement_observers: list[Callable[[str, Sequence[Any]], None]] = []


async def _end_transaction(connection: asyncpg.Connection) -> None:
    # Instead of asyncpg's full reset (RESET ALL, UNLISTEN *, CLOSE ALL...: one more round trip
    # per batch): these connections keep no session state, only a transaction a cancelled
    # batch may have left open.
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def _counted(_connection: asyncpg.Connection) -> None:
    counter = sql_counter.current()
    if counter is not None:
        counter.count_connection()


def _observe(sql: str, arguments: Sequence[Any]) -> None:
    counter = sql_counter.current()
    if counter is not None:
        counter.count_statement(sql)
        counter.count_transaction()
    for observer in statement_observers:
        observer(sql, arguments)


# What PostgreSQL raises for a `\u0000` in a jsonb value, which the batch's documents leave to it
# to find (store.json_codec.dump_json_for_jsonb): the writer then writes again, values made valid.
NUL_REFUSED = (asyncpg.exceptions.UntranslatableCharacterError,)


class RecordRows:
    """Rows of one table as one JSON document, for `json_to_recordset` statements."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table = table
        self._processors = {column.name: _processor(column, dialect) for column in table.columns}
        # What SQLAlchemy would write for a column an insert leaves out: its scalar default.
        self._defaults = {
            column.name: self._processors[column.name](column.default.arg)  # type: ignore[attr-defined]
            for column in table.columns
            if column.default is not None and getattr(column.default, "is_scalar", False)
        }

    def columns_of(self, row: dict[str, Any]) -> tuple[str, ...]:
        """The columns an insert of `row` writes: those it gives, and those with a default."""
        return tuple(
            c.name for c in self.table.columns if c.name in row or c.name in self._defaults
        )

    def document(
        self,
        columns: Sequence[str],
        rows: Sequence[dict[str, Any]],
        extra: Sequence[str] = (),
    ) -> str:
        """`rows` (all giving the same columns) as a JSON array of objects: `columns` converted
        as SQLAlchemy would convert them, defaults filled in, then the `extra` keys (not
        columns: fences, ords) as given."""
        given = rows[0]
        plain = [c for c in columns if c in given and self._processors[c] is _unchanged]
        plain += extra
        converted = [
            (c, self._processors[c])
            for c in columns
            if c in given and self._processors[c] is not _unchanged
        ]
        defaults = {c: self._defaults[c] for c in columns if c not in given}
        # The plain values taken in one C call per row; only the few that need it converted.
        take = operator.itemgetter(*plain) if len(plain) > 1 else None
        records = []
        for row in rows:
            record = (
                dict(zip(plain, take(row), strict=True)) if take else {c: row[c] for c in plain}
            )
            for column, process in converted:
                record[column] = process(row[column])
            if defaults:
                record.update(defaults)
            records.append(record)
        return orjson.dumps(records).decode()


def _unchanged(value: Any) -> Any:
    return value


def _processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """How a value of `column` goes to the driver: SQLAlchemy's bind processor, except that
    JSON is written by orjson directly (a seventh of json.dumps' CPU, and a run writes dozens
    of JSON values), leaving a NUL for jsonb to refuse (NUL_REFUSED). JSONB keeps the parsed
    value, not the text, so the text need only mean what the ORM's would."""
    plain = getattr(column.type, "plain_bind_processor", None)  # store.types.UTCDateTime's
    if plain is not None and plain(dialect) is not None:
        return plain(dialect)  # type: ignore[no-any-return]
    column_type = column.type.dialect_impl(dialect)
    standard = column_type.bind_processor(dialect) or _unchanged
    if not isinstance(column_type, JSON):
        return standard
    return _jsonb_text


def _jsonb_text(value: Any) -> str:
    # Most rows leave some JSON columns empty: their None needs no serializer call.
    return "null" if value is None else dump_json_for_jsonb(value)


class Placeholders:
    """Numbers a statement's parameters in the order they are written into its text."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, sql_type: str) -> str:
        """The next parameter, cast to `sql_type`."""
        self.count += 1
        return f"${self.count}::{sql_type}"


def recordset_from(
    table: Table,
    columns: Sequence[str],
    dialect: Dialect,
    placeholder: Placeholders,
    *,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """`json_to_recordset($n::json) AS v(column type, ...)`: one JSON document parameter (see
    `RecordRows.document`) holding `columns` of `table`, then the `extra` (key, SQL type).

    JSON columns arrive as their JSON text, parsed by `value_of`: typed json here, a JSON
    null would become SQL NULL, which the ORM never writes for None."""
    fields = [f'"{column}" {_record_type(table.c[column], dialect)}' for column in columns]
    fields += [f'"{name}" {sql_type}' for name, sql_type in extra]
    return f"json_to_recordset({placeholder('json')}) AS v({', '.join(fields)})"


def value_of(table: Table, column: str, dialect: Dialect) -> str:
    """The SQL for `column`'s value in a `recordset_from` source."""
    if _is_json(table.c[column], dialect):
        return f'v."{column}"::jsonb'
    return f'v."{column}"'


def _is_json(column: Column[Any], dialect: Dialect) -> bool:
    return isinstance(column.type.dialect_impl(dialect), JSON)


def _record_type(column: Column[Any], dialect: Dialect) -> str:
    return "text" if _is_json(column, dialect) else column.type.compile(dialect=dialect)
