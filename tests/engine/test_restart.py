"""A delay survives a full restart of `weft serve` (a real process, killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

BASE = "/api/v2/public"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {
        **os.environ,
        "WEFT_DATA_DIR": str(tmp_path),
        "WEFT_PORT": str(free_port()),
        "WEFT_POLL_S": "0.05",
        "WEFT_LOG_LEVEL": "warning",
    }
    values.pop("WEFT_DATABASE_URL", None)
    return values


def weft(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "weft", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "weft", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{env['WEFT_PORT']}"
    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("weft serve did not start")


def status_of(http: httpx.Client, execution_id: str) -> dict:
    return http.get(f"{BASE}/execution/{execution_id}").json()


def test_a_waiting_delay_survives_a_killed_server(env: dict[str, str]) -> None:
    org = weft(env, "org", "create", "--name", "Restart")
    token = weft(env, "token", "create", "--org", org["org_id"], "--linked-account", "u1")
    server = serve(env)
    base = f"http://127.0.0.1:{env['WEFT_PORT']}"
    headers = {"Authorization": f"Bearer {token['token']}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            created = http.post(f"{BASE}/workflow", json={"name": "sleepy"}).json()
            wf = created["workflow"]["associated_workflow"]
            graph = {
                "nodes": [
                    {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
                    {"id": "2", "type": "delay", "name": "Nap", "data": {"seconds": 2}},
                    {"id": "3", "type": "transform", "name": "After", "data": {"value": "awake"}},
                ],
                "edges": [{"source": "1", "target": "2"}, {"source": "2", "target": "3"}],
            }
            assert http.put(f"{BASE}/workflow/{wf}/draft", json=graph).status_code == 200
            http.put(f"{BASE}/workflow/{wf}/publish", json={"published": True})
            execution_id = http.post(f"{BASE}/workflow/{wf}/execute", json={}).json()[
                "execution_id"
            ]
            for _ in range(100):
                if status_of(http, execution_id)["status"] == "WAITING":
                    break
                time.sleep(0.02)
            assert status_of(http, execution_id)["status"] == "WAITING"
        server.send_signal(signal.SIGKILL)
        server.wait()
        time.sleep(2.2)  # the wake time passes while nothing runs
        server = serve(env)
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            for _ in range(200):
                done = status_of(http, execution_id)
                if done["status"] == "COMPLETED":
                    break
                time.sleep(0.05)
        assert done["status"] == "COMPLETED", done
        assert done["output"] == "awake"
        assert [n["node_id"] for n in done["nodes"]] == ["1", "2", "3"]
    finally:
        server.kill()
        server.wait()
