"""A tiny raw HTTP/1.1 server on 127.0.0.1 (plain or TLS) with routes the outbound tests need."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit


def rebinding_resolver(calls: list[str]) -> Callable[[str, int], Awaitable[Sequence[str]]]:
    """A rebinding DNS server: the first answer (127.0.0.1) passes the guard, later ones
    (127.0.0.2) point elsewhere; each lookup is recorded in `calls`."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["127.0.0.2"]

    return resolve


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TinyServer:
    """Answers raw HTTP/1.1 with keep-alive; routes are picked by path (see `_route`)."""

    ssl_context: ssl.SSLContext | None = None
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while line := await reader.readline():
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b""):
                    name, value = raw.decode().split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, target, headers, body)
                self.requests.append(seen)
                await self._route(seen, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            # Cancelled by stop(); ending quietly keeps 3.11 streams from logging the cancel.
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _route(self, seen: Seen, writer: asyncio.StreamWriter) -> None:
        parts = urlsplit(seen.target)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        path = parts.path
        if path == "/json":
            await _send(writer, 200, b'{"ok": true, "items": [1, 2]}', "application/json")
        elif path == "/problem":
            await _send(writer, 404, b'{"title": "gone"}', "application/problem+json")
        elif path == "/text":
            await _send(writer, 200, "héllo".encode(), "text/plain; charset=utf-8")
        elif path == "/badjson":
            await _send(writer, 200, b"not json {", "application/json")
        elif path == "/echo" or path.startswith("/echo/"):
            echo = {
                "method": seen.method,
                "target": seen.target,
                "host": seen.headers.get("host"),
                "authorization": seen.headers.get("authorization"),
                "content_type": seen.headers.get("content-type"),
                "cookie": seen.headers.get("cookie"),
                "body": seen.body.decode(),
            }
            await _send(writer, 200, json.dumps(echo).encode(), "application/json")
        elif path == "/redirect":
            status = int(query.get("status", "302"))
            await _send(writer, status, b"", "text/plain", {"Location": query["to"]})
        elif path == "/loop":
            await _send(writer, 302, b"", "text/plain", {"Location": "/loop"})
        elif path == "/slow":
            await asyncio.sleep(30)
        elif path == "/pause":
            await asyncio.sleep(0.2)
            await _send(writer, 200, b"paused", "text/plain")
        elif path == "/gzip":
            # n bytes that compress to next to nothing: a decompression bomb when n is large.
            packed = gzip.compress(b"a" * int(query["n"]), compresslevel=9)
            await _send(writer, 200, packed, "text/plain", {"Content-Encoding": "gzip"})
        elif path == "/encoded":
            body = query["text"].encode(query.get("as", "utf-8"))
            await _send(writer, 200, body, query["type"])
        elif path == "/cookie":
            extra = {"Set-Cookie": "session=abc; Path=/", "X-Twice": "one"}
            await _send(writer, 200, b"set", "text/plain", extra, [("X-Twice", "two")])
        elif path == "/drip":
            # Each byte arrives well inside a read timeout; only a total deadline stops it.
            head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
            writer.write(head.encode())
            for _ in range(1000):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.05)
        elif path == "/sized":
            body = b"x" * int(query["n"])
            if seen.method == "HEAD":  # the headers a GET would get, without the body
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
                writer.write(head.encode())
                await writer.drain()
            else:
                await _send(writer, 200, body, "text/plain")
        elif path == "/chunked":
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            writer.write(head.encode())
            for _ in range(int(query["chunks"])):
                writer.write(b"200\r\n" + b"y" * 512 + b"\r\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        elif path.startswith("/status/"):
            await _send(writer, int(path.removeprefix("/status/")), b"status", "text/plain")
        else:
            await _send(writer, 404, b"no such route", "text/plain")


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
    repeated: list[tuple[str, str]] | None = None,
) -> None:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **(extra or {})}
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
    lines = [*headers.items(), *(repeated or [])]
    head += "".join(f"{name}: {value}\r\n" for name, value in lines)
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
