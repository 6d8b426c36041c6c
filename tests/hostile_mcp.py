"""A hostile remote MCP server for tests: plain HTTP/1.1 on a free port of 127.0.0.1 that
answers the MCP handshake as a server should, then answers every other request with a JSON
body that is too large (`huge`, its size announced), never ends (`endless`, chunked), is
compressed though nobody asked (`gzip`), or holds a lone surrogate escape (`lone_surrogate`).
It counts what it managed to send of those bodies."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

HUGE_BYTES = 5 * 1024 * 1024
CHUNK = b"a" * 65536


@dataclass
class HostileMcp:
    """The server's endpoint URL; bytes of hostile bodies written; whether a reader hung up."""

    url: str
    sent: int = 0
    hung_up: bool = False


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def _json(body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    return _head("200 OK", {"content-type": "application/json", "content-length": str(len(data))})


async def _hostile(
    kind: str, request_id: Any, writer: asyncio.StreamWriter, seen: HostileMcp
) -> None:
    start = b'{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"' % (
        json.dumps(request_id).encode()
    )
    if kind == "lone_surrogate":  # valid JSON that pydantic's parser (the SDK's) refuses
        body = start + b'a\\ud800b"}],"structuredContent":{"v":"\\udc00"}}}'
        writer.write(
            _head("200 OK", {"content-type": "application/json", "content-length": str(len(body))})
            + body
        )
        seen.sent += len(body)
        return
    if kind == "gzip":
        body = gzip.compress(start + b'zipped"}]}}')
        headers = {"content-encoding": "gzip", "content-length": str(len(body))}
        writer.write(_head("200 OK", {"content-type": "application/json", **headers}) + body)
        seen.sent += len(body)
        return
    if kind == "huge":
        body = start + b"a" * HUGE_BYTES + b'"}]}}'
        writer.write(
            _head("200 OK", {"content-type": "application/json", "content-length": str(len(body))})
        )
        writer.write(body)
        seen.sent += len(body)
        await writer.drain()
        return
    writer.write(
        _head("200 OK", {"content-type": "application/json", "transfer-encoding": "chunked"})
    )
    writer.write(b"%x\r\n%s\r\n" % (len(start), start))
    while True:  # until the reader hangs up
        writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
        await writer.drain()
        seen.sent += len(CHUNK)


async def _serve(
    kind: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: HostileMcp
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(
                line.split(": ", 1)
                for line in head.decode().lower().split("\r\n")[1:]
                if ": " in line
            )
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if not head.startswith(b"POST"):
                writer.write(_head("405 Method Not Allowed", {"content-length": "0"}))
                continue
            message = json.loads(body)
            if "id" not in message:  # a notification
                writer.write(_head("202 Accepted", {"content-length": "0"}))
            elif message["method"] == "initialize":
                result = {
                    "protocolVersion": message["params"]["protocolVersion"],
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "hostile", "version": "1"},
                }
                answer = {"jsonrpc": "2.0", "id": message["id"], "result": result}
                writer.write(_json(answer) + json.dumps(answer).encode())
            elif message["method"] in ("tools/list", "tools/call"):
                await _hostile(kind, message["id"], writer, seen)
            else:
                error = {"code": -32601, "message": "Method not found"}
                answer = {"jsonrpc": "2.0", "id": message["id"], "error": error}
                writer.write(_json(answer) + json.dumps(answer).encode())
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        seen.hung_up = True
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


@asynccontextmanager
async def hostile_mcp(kind: str) -> AsyncIterator[HostileMcp]:
    """A running server answering `huge`, `endless`, `gzip` or `lone_surrogate`; its URL ends
    in /mcp."""
    seen = HostileMcp("")
    server = await asyncio.start_server(
        lambda r, w: _serve(kind, r, w, seen), host="127.0.0.1", port=0
    )
    seen.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/mcp"
    try:
        yield seen
    finally:
        server.close()
        await server.wait_closed()
