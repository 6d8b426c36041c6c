"""Several Weft "hosts" on one PostgreSQL behind a real reverse proxy (Debian's nginx).

A host is what one machine of a deployment runs: its own process group, data directory and
port; either `weft serve` (API and workers in each process) or the split form, `weft api` beside
`weft worker` processes. `Host.kill()` is the machine dying: SIGKILL to the whole group at once.
By default the hosts share the loopback network (distinct ports). With a `Network` (root only:
bench/multihost.py --netns) each host has a network namespace of its own, reached over a bridge,
as separate machines are; the proxy, PostgreSQL (its Unix socket is a path, which namespaces
share) and the outside services stay in the root namespace. Used by
tests/faults/test_host_kills.py and bench/multihost.py.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from worker_processes import free_port, start_server, start_worker

# `make test` installs it when missing (the Makefile's nginx target); sbin is not always on PATH.
NGINX = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")


@dataclass
class Host:
    """One host's processes (the first leads their process group), port and data directory."""

    name: str
    port: int
    data_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    address: str = "127.0.0.1"

    @property
    def group(self) -> int:
        return self.processes[0].pid

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def group_pids(self) -> set[int]:
        """Every live process of the host's group: the supervisor's serving children too."""
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.group and fields[0] != "Z":  # state, ppid, pgrp
                found.add(int(entry.name))
        return found

    def kill(self) -> None:
        """The machine dies: SIGKILL to every process of the group (the serving children too)."""
        os.killpg(self.group, signal.SIGKILL)
        for process in self.processes:
            process.wait(10)

    def stop(self, timeout_s: float = 20) -> bool:
        """A clean shutdown (SIGTERM to the group), SIGKILL for what is left after `timeout_s`;
        whether it stopped cleanly (uvicorn re-raises SIGTERM once it shut down: code -15)."""
        if all(process.poll() is not None for process in self.processes):
            return False
        try:
            os.killpg(self.group, signal.SIGTERM)
            for process in self.processes:
                process.wait(timeout_s)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            self.kill_remaining()
            return False
        return True

    def kill_remaining(self) -> None:
        try:
            os.killpg(self.group, signal.SIGKILL)
        except ProcessLookupError:
            return
        for process in self.processes:
            process.wait(10)


class Network:
    """Network namespaces for hosts: a bridge in the root namespace at `gateway`, and each host
    in a namespace of its own joined to it by a veth pair (needs root and iproute2)."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(2)
        self.subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(256)}"
        self.gateway = f"{self.subnet}.1"
        self.bridge = f"wb{self.tag}"
        self.namespaces: list[str] = []
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    @staticmethod
    def available() -> bool:
        return os.geteuid() == 0 and shutil.which("ip") is not None

    def add(self) -> tuple[str, str]:
        """A new namespace on the bridge; its name and address."""
        n = len(self.namespaces)
        namespace, outside, inside = f"weft-{self.tag}-{n}", f"wv{self.tag}{n}", f"wp{self.tag}{n}"
        address = f"{self.subnet}.{n + 2}"
        _ip("netns", "add", namespace)
        self.namespaces.append(namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("link", "set", outside, "master", self.bridge, "up")
        _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", inside)
        _ip("-n", namespace, "link", "set", inside, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        return namespace, address

    def close(self) -> None:
        """Delete the namespaces (their veth pairs go with them) and the bridge."""
        for namespace in self.namespaces:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def start_host(
    name: str,
    db_url: str,
    folder: Path,
    *,
    split: bool = False,
    processes: int = 1,
    workers: int = 1,
    network: Network | None = None,
    **env: str,
) -> Host:
    """A host serving on a port of its own: `weft serve --processes N`, or with `split`
    `weft api --processes N` and `workers` `weft worker` processes; returns once it serves and
    its workers have started. On a namespace of its own in `network`, when given."""
    data_dir = folder / name
    data_dir.mkdir(parents=True)
    port = free_port()
    netns, address = network.add() if network else (None, "127.0.0.1")
    if network:
        env = {**env, "WEFT_HOST": address}
    command = "api" if split else "serve"
    args = ("--processes", str(processes), "--no-migrate")
    leader = start_server(command, db_url, data_dir, port, *args, group=0, netns=netns, **env)
    host = Host(name, port, data_dir, [leader], address)
    try:
        if split:
            for _ in range(workers):
                worker = start_worker(db_url, data_dir, group=leader.pid, netns=netns, **env)
                host.processes.append(worker)
            wait_workers_started(data_dir, workers)
    except BaseException:
        host.kill_remaining()
        raise
    return host


def wait_workers_started(data_dir: Path, count: int, timeout_s: float = 60) -> None:
    """Until `count` worker logs in `data_dir` show the worker's start banner."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        logs = [path.read_text(errors="replace") for path in data_dir.glob("worker-*.log")]
        if sum("weft worker: " in text for text in logs) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{count} workers did not start in {data_dir}")


def nginx_conf(
    folder: Path, port: int, upstream: str, *, extra: str = "", bind: str | None = None
) -> Path:
    """nginx serving 127.0.0.1:`port`, passing every request to `upstream` (a proxy_pass URL);
    `extra` goes in its http block; `bind`: the local address its upstream connections use."""
    proxy_bind = f"proxy_bind {bind};" if bind else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    {extra}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 120s;
            {proxy_bind}
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""
    )
    return conf


def balancer_conf(folder: Path, port: int, hosts: list[Host]) -> Path:
    """nginx balancing round-robin over the hosts' ports, as an operator would put it in front.

    nginx's defaults decide what a caller sees when a host dies: a request not yet sent (the
    connection refused) goes to the next host; a request in flight (non-idempotent POST) is
    not resent, the caller gets 502 and retries with its Idempotency-Key.
    """
    servers = "\n".join(f"        server {host.address}:{host.port};" for host in hosts)
    upstream = f"upstream weft {{\n{servers}\n        keepalive 32;\n    }}"
    return nginx_conf(folder, port, "http://weft", extra=upstream)


def start_nginx(folder: Path, conf: Path, port: int) -> subprocess.Popen[bytes]:
    """Debian's nginx with `conf`, unprivileged; returns once /healthz answers through it."""
    if NGINX is None:
        raise AssertionError("Debian's nginx is not installed (apt-get install -y nginx-light)")
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-e", str(folder / "nginx-error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    log = (folder / "nginx-error.log").read_text() if (folder / "nginx-error.log").exists() else ""
    raise AssertionError(f"nginx did not start: {log[-2000:]}")


def start_balancer(folder: Path, hosts: list[Host]) -> tuple[subprocess.Popen[bytes], str]:
    """nginx in front of `hosts`; the process and its base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return start_nginx(folder, balancer_conf(folder, port, hosts), port), f"http://127.0.0.1:{port}"
