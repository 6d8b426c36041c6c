"""A delay, a direct run and a parent waiting on its child survive a full restart of `weft
serve` (a real process, killed with SIGKILL)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_forks import run_weft
from servers import RecordingServer, Request

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
        # One process, so SIGKILL kills the one that runs the run (with more, the children of a
        # killed supervisor stop gracefully and finish or release their runs themselves).
        "WEFT_PROCESSES": "1",
    }
    values.pop("WEFT_DATABASE_URL", None)
    return values


def weft(env: dict[str, str], *args: str) -> dict:
    done = run_weft([*args, "--json"], env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "weft", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{env['WEFT_PORT']}"
    deadline = time.monotonic() + 120  # a cold start imports Weft: seconds on a busy machine
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("weft serve did not start")


def status_of(http: httpx.Client, execution_id: str) -> dict:
    return http.get(f"{BASE}/execution/{execution_id}").json()


def completed(http: httpx.Client, execution_id: str, polls: int = 200) -> dict:
    """The run as shown once COMPLETED, or as it is after `polls` looks 50 ms apart."""
    for _ in range(polls):
        shown = status_of(http, execution_id)
        if shown["status"] == "COMPLETED":
            break
        time.sleep(0.05)
    return shown


def test_a_waiting_delay_survives_a_killed_server(env: dict[str, str]) -> None:
    assert run_weft(["migrate"], env=env).returncode == 0
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
            deadline = time.monotonic() + 60  # a busy machine only makes the wait longer
            while status_of(http, execution_id)["status"] != "WAITING":
                assert time.monotonic() < deadline, status_of(http, execution_id)
                time.sleep(0.02)
        server.send_signal(signal.SIGKILL)
        server.wait()
        time.sleep(2.2)  # the wake time passes while nothing runs
        server = serve(env)
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            done = completed(http, execution_id)
        assert done["status"] == "COMPLETED", done
        assert done["output"] == "awake"
        assert [n["node_id"] for n in done["nodes"]] == ["1", "2", "3"]
    finally:
        server.kill()
        server.wait()


class HeldSink(RecordingServer):
    """Holds the first call until `release` is set (the server dies meanwhile); answers later
    calls at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        super().__init__()

    def respond(self, request: Request) -> tuple[int, Any]:
        if len(self.received) == 1:
            self.release.wait(20)
        return 200, {"calls": len(self.received)}


def _serve_one_account(
    env: dict[str, str], org_name: str
) -> tuple[dict[str, str], subprocess.Popen[bytes], str, dict[str, str]]:
    """A migrated database with one org and its account `u1`, served with 2 s leases and calls
    to 127.0.0.1 allowed: (the env, the server, its URL, the account's headers)."""
    env = {**env, "WEFT_LEASE_S": "2"}
    assert run_weft(["migrate"], env=env).returncode == 0
    org = weft(env, "org", "create", "--name", org_name)
    token = weft(env, "token", "create", "--org", org["org_id"], "--linked-account", "u1")
    env = {**env, "WEFT_OUTBOUND_ALLOW": "127.0.0.1"}
    base = f"http://127.0.0.1:{env['WEFT_PORT']}"
    return env, serve(env), base, {"Authorization": f"Bearer {token['token']}"}


def test_a_direct_run_killed_mid_call_is_resumed_by_the_next_server(env: dict[str, str]) -> None:
    """A sync webhook's run starts in the receiving server (no queue); killed with SIGKILL
    during its outside call, it is resumed by a new server once its lease expires: the steps
    committed before the call do not run again, the call in flight does (at least once)."""
    sink = HeldSink()
    env, server, base, headers = _serve_one_account(env, "Direct")
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            wf = http.post(f"{BASE}/workflow", json={"name": "direct"}).json()["workflow"][
                "associated_workflow"
            ]
            graph = {
                "nodes": [
                    {
                        "id": "1",
                        "type": "start",
                        "name": "Start",
                        "data": {"trigger": "webhook", "sync": True},
                    },
                    {
                        "id": "2",
                        "type": "transform",
                        "name": "Shape",
                        "data": {"value": "{{ trigger.body.n }}"},
                    },
                    {
                        "id": "3",
                        "type": "http",
                        "name": "Call",
                        "data": {"method": "POST", "url": sink.url + "/x", "body": {}},
                    },
                    {
                        "id": "4",
                        "type": "respond",
                        "name": "Reply",
                        "data": {"body": "{{ nodes.call.body }}"},
                    },
                ],
                "edges": [
                    {"source": a, "target": b} for a, b in (("1", "2"), ("2", "3"), ("3", "4"))
                ],
            }
            assert http.put(f"{BASE}/workflow/{wf}/draft", json=graph).status_code == 200
            http.put(f"{BASE}/workflow/{wf}/publish", json={"published": True})
            path = http.get(f"{BASE}/workflow/{wf}").json()["webhook_path"]
        caller = threading.Thread(target=_post_quietly, args=(base + path, {"n": 5}), daemon=True)
        caller.start()
        deadline = time.monotonic() + 60
        while not sink.received:
            assert time.monotonic() < deadline, "the run never called out"
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait()
        sink.release.set()
        server = serve(env)
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            # The row was written before the call: the run is there, though nobody got its id.
            (run,) = http.get(f"{BASE}/execution", params={"workflow_id": wf}).json()["docs"]
            done = completed(http, run["_id"])
        assert done["status"] == "COMPLETED", done
        assert [n["node_id"] for n in done["nodes"]] == ["1", "2", "3", "4"]
        assert len(sink.received) == 2  # the call in flight ran again; nothing else repeated
    finally:
        server.kill()
        server.wait()
        sink.close()


def test_a_parent_waiting_on_its_child_in_process_resumes_once_after_a_kill(
    env: dict[str, str],
) -> None:
    """A child runs in its parent's process while the parent waits there (not parked); killed
    during the child's outside call, both are resumed by the next server once their leases
    expire: the parent finds its one child by key, waits for its end and completes once."""
    sink = HeldSink()
    env, server, base, headers = _serve_one_account(env, "Parent")
    start = {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:

            def published(name: str, nodes: list[dict]) -> str:
                wf = http.post(f"{BASE}/workflow", json={"name": name}).json()["workflow"]
                edges = [
                    {"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)
                ]
                draft = {"nodes": nodes, "edges": edges}
                wf_id = wf["associated_workflow"]
                assert http.put(f"{BASE}/workflow/{wf_id}/draft", json=draft).status_code == 200
                http.put(f"{BASE}/workflow/{wf_id}/publish", json={"published": True})
                return str(wf_id)

            call = {"method": "POST", "url": sink.url + "/x", "body": {}}
            child = published(
                "child",
                [
                    start,
                    {"id": "2", "type": "http", "name": "Call", "data": call},
                    {
                        "id": "3",
                        "type": "transform",
                        "name": "Got",
                        "data": {"value": "{{ nodes.call.body }}"},
                    },
                ],
            )
            sub = {"workflow_id": child, "payload": {}}
            parent = published(
                "parent", [start, {"id": "2", "type": "workflow", "name": "Child", "data": sub}]
            )
            parent_run = http.post(f"{BASE}/workflow/{parent}/execute", json={}).json()[
                "execution_id"
            ]
            deadline = time.monotonic() + 60
            while not sink.received:
                assert time.monotonic() < deadline, "the child never called out"
                time.sleep(0.05)
            assert status_of(http, parent_run)["status"] == "RUNNING"  # waiting, not parked
        server.send_signal(signal.SIGKILL)
        server.wait()
        sink.release.set()
        server = serve(env)
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            done = completed(http, parent_run, polls=400)
            assert done["status"] == "COMPLETED", done
            assert done["output"] == {"calls": 2}
            assert [n["node_id"] for n in done["nodes"]] == ["1", "2"]
            (child_run,) = http.get(f"{BASE}/execution", params={"workflow_id": child}).json()[
                "docs"
            ]
            assert status_of(http, child_run["_id"])["status"] == "COMPLETED"
        assert len(sink.received) == 2  # the call in flight ran again; nothing else repeated
    finally:
        server.kill()
        server.wait()
        sink.close()


def _post_quietly(url: str, body: dict) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(url, json=body, timeout=30)
