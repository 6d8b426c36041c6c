"""What one outbound call costs: CPU per call through Weft's client, plain aiohttp and httpx.

    .venv/bin/python bench/outbound_http.py [--calls 3000] [--concurrency 1,32]

A keep-alive HTTP server in another process (so its CPU is not counted) answers a small JSON
body; this process sends POSTs with a JSON body, as the http node does, through
`weft.net.OutboundClient` (private-network guard, size limit, redirects checked hop by hop,
on aiohttp), and for comparison through a plain `aiohttp.ClientSession` (what the guard and
our checks add) and a plain `httpx.AsyncClient` (what weft.net ran on before). Prints µs of
this process's CPU per call, calls/s, and how many connections the server accepted
(keep-alive at work: a handful, not one per call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from weft.net import OutboundClient, OutboundPolicy

BODY = json.dumps({"ok": True, "echo": "x" * 64}).encode()


def _serve(port_out: multiprocessing.Queue, accepted: multiprocessing.Value) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with accepted.get_lock():
            accepted.value += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_out.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


async def _measure(
    call: Callable[[], Awaitable[object]], calls: int, concurrency: int
) -> tuple[float, float]:
    for _ in range(50):  # warm: connections open, caches full
        await call()
    queue = iter(range(calls))

    async def caller() -> None:
        for _ in queue:
            await call()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return 1e6 * cpu / calls, calls / wall


async def run(url: str, calls: int, concurrencies: list[int], accepted: object) -> None:
    weft = OutboundClient(OutboundPolicy.parse("127.0.0.1"))
    session = aiohttp.ClientSession()
    plain = httpx.AsyncClient()
    payload = {"n": 1, "tag": "bench"}

    async def aiohttp_post() -> object:
        async with session.post(url, json=payload) as response:
            return await response.json()

    async def httpx_post() -> object:
        return (await plain.post(url, json=payload)).json()

    clients: dict[str, Callable[[], Awaitable[object]]] = {
        "weft OutboundClient": lambda: weft.request("POST", url, json=payload),
        "plain aiohttp.ClientSession": aiohttp_post,
        "plain httpx.AsyncClient": httpx_post,
    }
    print("| client | concurrent callers | µs CPU per call | calls/s | server connections |")
    print("| --- | ---: | ---: | ---: | ---: |")
    try:
        for concurrency in concurrencies:
            for name, call in clients.items():
                before = accepted.value  # type: ignore[attr-defined]
                cpu_us, per_s = await _measure(call, calls, concurrency)
                opened = accepted.value - before  # type: ignore[attr-defined]
                print(f"| {name} | {concurrency} | {cpu_us:.0f} | {per_s:.0f} | {opened} |")
    finally:
        await weft.aclose()
        await session.close()
        await plain.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", default="1,32")
    args = parser.parse_args()
    ports: multiprocessing.Queue = multiprocessing.Queue()
    accepted = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=_serve, args=(ports, accepted), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=10)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        url = f"http://127.0.0.1:{port}/sink"
        levels = [int(c) for c in args.concurrency.split(",")]
        asyncio.run(run(url, args.calls, levels, accepted))
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
