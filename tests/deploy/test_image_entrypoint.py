"""The image's entrypoint and health check, run as the image runs them (outside a container).

`make image-check` runs them inside the built image; these prove their rules in seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from servers import RecordingServer, Request

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "image" / "docker-entrypoint.sh"
HEALTHCHECK = ROOT / "deploy" / "image" / "healthcheck.py"
PRINT_KEY = ["sh", "-c", 'printf "%s" "$WEFT_SECRET_KEY"']


def entrypoint(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_SECRET_KEY")}
    # The venv's bin first, as /opt/weft/bin is in the image.
    path = f"{Path(sys.executable).parent}:{clean['PATH']}"
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command],
        env={**clean, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_key_file_becomes_weft_secret_key_without_its_newline(tmp_path: Path) -> None:
    key = tmp_path / "secret_key"
    key.write_text("k3y-from-a-secret\n")
    done = entrypoint(*PRINT_KEY, WEFT_SECRET_KEY_FILE=str(key))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "k3y-from-a-secret"


def test_a_key_in_both_places_or_an_unreadable_file_stops_the_container(tmp_path: Path) -> None:
    key = tmp_path / "secret_key"
    key.write_text("one")
    both = entrypoint(*PRINT_KEY, WEFT_SECRET_KEY_FILE=str(key), WEFT_SECRET_KEY="two")
    assert both.returncode == 2
    assert "set WEFT_SECRET_KEY or WEFT_SECRET_KEY_FILE, not both" in both.stderr
    missing = entrypoint(*PRINT_KEY, WEFT_SECRET_KEY_FILE=str(tmp_path / "absent"))
    assert missing.returncode == 2
    assert "cannot read WEFT_SECRET_KEY_FILE" in missing.stderr
    plain = entrypoint(*PRINT_KEY, WEFT_SECRET_KEY="from-the-environment")
    assert (plain.returncode, plain.stdout) == (0, "from-the-environment")


def test_a_weft_command_name_runs_weft_and_anything_else_runs_as_given() -> None:
    helped = entrypoint("--help")
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout and "worker" in helped.stdout
    echoed = entrypoint("echo", "serve")
    assert echoed.stdout == "serve\n"


class Readiness(RecordingServer):
    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status

    def respond(self, request: Request) -> tuple[Any, ...]:
        return self.status, {"status": "ready" if self.status == 200 else "not ready"}


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
def test_the_health_check_passes_only_on_a_ready_answer(status: int, exit_code: int) -> None:
    server = Readiness(status)
    try:
        port = server.url.rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, str(HEALTHCHECK)],
            env={**os.environ, "WEFT_PORT": port},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.close()
    assert done.returncode == exit_code, done.stderr
    assert [request.path for request in server.received] == ["/readyz"]


def test_the_health_check_fails_when_nothing_listens() -> None:
    server = Readiness(200)
    port = server.url.rsplit(":", 1)[1]
    server.close()  # the port is now closed
    done = subprocess.run(
        [sys.executable, str(HEALTHCHECK)],
        env={**os.environ, "WEFT_PORT": port},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "not ready" in done.stderr
