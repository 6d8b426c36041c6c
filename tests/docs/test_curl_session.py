"""The docs cannot rot: their curl sessions run as written against a live `weft serve`.

docs/api.md whole, and docs/apps.md's "Importing an OpenAPI document" (from a document to a
running workflow), "Apps for AI agents" (direct actions and MCP servers) and "Field mapping
and the config API" (a map field whose options a connected app lists) and docs/templates.md's
session (an org marks a template, an account starts from it), each with a stand-in
vendor API on 127.0.0.1:8100 that the operator allows; docs/workflow-files.md whole (export,
import, `weft org pull/push`); docs/operations.md's "Failure alerts and auto-pause".
Every ```sh block is run, in order, in one bash session whose current directory looks like a
checkout after `make run` (a `.venv/bin/weft` and the server's `.weft` data directory). After
each `# => <json>` line, the output of the commands since the previous one must match the JSON
shown: `"..."` matches any value, objects may hold more keys, and each listed item must match
an item of the answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_forks import ForkedWeft

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs"
# (file, the heading its session starts at: None for the whole file); a session ends at the
# next heading of the same level.
SESSIONS = [
    ("api.md", None),
    ("apps.md", "### Importing an OpenAPI document"),
    ("apps.md", "## Apps for AI agents: direct actions and MCP servers"),
    ("apps.md", "### Field mapping and the config API"),
    ("apps.md", "### The hosted Connect portal"),
    ("workflow-files.md", None),
    ("templates.md", "## A session"),
    ("operations.md", "## Failure alerts and auto-pause"),
    ("operations.md", "## Quotas"),
]
STAND_IN_API = "127.0.0.1:8100"


def session_text(name: str, heading: str | None) -> str:
    text = (DOCS / name).read_text()
    if heading is None:
        return text
    start = text.index(heading)
    level = heading.split(" ", 1)[0]
    end = text.find(f"\n{level} ", start + len(heading))
    return text[start : end if end != -1 else None]


BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
SHOWN = "# => "
MARK = "@@weft-doc-segment@@"


def segments(markdown: str) -> list[tuple[str, str]]:
    """(commands, shown output) pairs, in order; the last may show nothing."""
    pairs: list[tuple[str, str]] = []
    commands: list[str] = []
    for block in BLOCK.findall(markdown):
        for line in block.splitlines():
            if line.startswith(SHOWN):
                pairs.append(("\n".join(commands), line[len(SHOWN) :]))
                commands = []
            else:
                commands.append(line)
    pairs.append(("\n".join(commands), ""))
    return pairs


def matches(shown: Any, actual: Any, where: str = "") -> list[str]:
    """Where `actual` differs from what the doc shows (empty: it matches)."""
    if shown == "...":
        return []
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{where or 'answer'}: expected an object, got {actual!r}"]
        problems = []
        for key, value in shown.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += matches(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(shown, list) and shown and isinstance(shown[0], dict):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        problems = []
        for index, item in enumerate(shown):
            if not any(not matches(item, candidate) for candidate in actual):
                problems.append(f"{where}[{index}]: no item matches {item!r}")
        return problems
    return [] if shown == actual else [f"{where or 'answer'}: expected {shown!r}, got {actual!r}"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def forked_weft() -> Iterator[ForkedWeft]:
    """Every `weft` of the sessions, their servers included, forked from one process that
    imported Weft (a cold start is seconds of CPU, a dozen times a session)."""
    forks = ForkedWeft()
    yield forks
    forks.close()


@pytest.fixture(
    params=[d for d in os.environ.get("WEFT_TEST_DATABASES", "sqlite,postgres").split(",") if d]
)
def checkout(
    request: pytest.FixtureRequest, tmp_path: Path, forked_weft: ForkedWeft
) -> Iterator[tuple[Path, dict[str, str], int]]:
    """A directory like a fresh checkout running `make run`, with its server's port."""
    port, api_port = free_port(), free_port()
    weft = tmp_path / ".venv" / "bin" / "weft"
    weft.parent.mkdir(parents=True)
    forked_weft.install(weft)
    env = {**os.environ, "WEFT_PORT": str(port), "WEFT_LOG_LEVEL": "warning"}
    # One serving process: a session makes one call at a time, and each more process is one more
    # start-up (importing Weft, a second of CPU) for every session on both databases.
    env["WEFT_PROCESSES"] = "1"
    env["WEFT_OUTBOUND_ALLOW"] = f"127.0.0.1:{api_port}"
    env["STAND_IN_API"] = f"127.0.0.1:{api_port}"
    for name in ("WEFT_DATA_DIR", "WEFT_DATABASE_URL", "WEFT_HOST", "WEFT_PUBLIC_URL"):
        env.pop(name, None)
    if request.param == "postgres":
        env["WEFT_DATABASE_URL"] = str(request.getfixturevalue("postgres_url"))
    server = subprocess.Popen(
        [str(weft), "serve", "--demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180  # a first start migrates; slow on a busy machine
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "weft serve did not start"
            time.sleep(0.1)
        yield tmp_path, env, port
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize(
    ("name", "heading"),
    SESSIONS,
    ids=[name if heading is None else f"{name}{heading.lstrip('#')}" for name, heading in SESSIONS],
)
def test_the_curl_session_in_the_docs_runs_as_written(
    checkout: tuple[Path, dict[str, str], int], name: str, heading: str | None
) -> None:
    directory, env, port = checkout
    text = session_text(name, heading).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    stand_in_port = env["STAND_IN_API"].rsplit(":", 1)[1]
    text = text.replace(STAND_IN_API, env["STAND_IN_API"])
    text = text.replace("http.server 8100", f"http.server {stand_in_port}")
    pairs = segments(text)
    assert len(pairs) >= 6, "the session shows its outputs"
    script = "set -euo pipefail\n" + "".join(
        f"{commands}\necho '{MARK}'\n" for commands, _ in pairs
    )
    # Its own process group: what the session leaves running (a stand-in API) is stopped.
    session = subprocess.Popen(
        ["bash", "-c", script],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = session.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session.pid, signal.SIGKILL)
    done = subprocess.CompletedProcess(session.args, session.returncode, stdout, stderr)
    outputs = done.stdout.split(MARK + "\n")
    assert done.returncode == 0, (
        f"a command failed after {len(outputs) - 1} shown outputs: {done.stderr[-2000:]}"
    )
    for (commands, shown), output in zip(pairs, outputs, strict=False):
        if not shown:
            continue
        last_command = commands.strip().splitlines()[-1]
        try:
            actual = json.loads(output)
        except ValueError:
            pytest.fail(f"after `{last_command}` the output is not JSON: {output!r}")
        problems = matches(json.loads(shown), actual)
        assert not problems, f"after `{last_command}`: {problems}\n{output}"
