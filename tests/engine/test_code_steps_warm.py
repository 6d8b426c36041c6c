"""A run's code steps use a warm, locked-down V8 context, and no run sees another's state."""

from __future__ import annotations

import httpx
import pytest

from engine.flows import publish, run
from graphs import MANUAL_START, node
from support import Tenant
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

SOURCE = """
const locked = [globalThis, Object.prototype, Array.prototype].every(Object.isFrozen);
try { globalThis.leak = input.trigger.secret } catch (_) {}
var seen = typeof seen === "undefined" ? [] : seen;
seen.push(input.trigger.n);
({ locked, seen, leaked: typeof leak === "undefined" ? null : leak })
"""


async def test_code_steps_of_a_workflow_version_run_warm_without_sharing_state(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(client, tenant, [MANUAL_START, node("2", "code", "Score", source=SOURCE)])
    for n in range(3):
        done = await run(client, tenant, wf, {"n": n, "secret": f"run-{n}"})
        assert done["status"] == "COMPLETED", done
        assert done["output"] == {"locked": True, "seen": [n], "leaked": None}
