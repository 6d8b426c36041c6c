"""`weft` starts without the server: a command imports what it runs, in its body.

Importing the server's modules at start-up cost every invocation ~1 s of CPU (`weft --help`
included), and the suite spawns the CLI hundreds of times.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration  # it starts the `weft` command

# What a command loads only when it runs: the store, the app catalogue, the engine, the API and
# the libraries under them (settings too: pydantic-settings alone is ~0.2 s). Not pydantic:
# Typer itself imports it when it builds the commands.
HEAVY = (
    "weft.api",
    "weft.apps",
    "weft.engine",
    "weft.notifications",
    "weft.settings",
    "weft.store",
    "weft.tenancy",
    "weft.workflows",
    "aiohttp",
    "alembic",
    "fastapi",
    "pydantic_settings",
    "sqlalchemy",
)

SHOW_HELP_THEN_MODULES = f"""
import json, sys
from weft.cli import app
try:
    app(["org", "create", "--help"], prog_name="weft")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))
"""


def test_help_imports_none_of_the_server() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", SHOW_HELP_THEN_MODULES], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    *help_lines, modules = shown.stdout.splitlines()
    assert "Create an organisation" in "\n".join(help_lines)
    assert json.loads(modules) == []
