"""Many concurrent app calls of one linked account, in this process or as a process of its own.

As a script (`python refresh_calls.py '<json>'`) it is the second process of the refresh race
test: it connects to the same database, prints `ready`, waits for a line on its input, fires
its calls and prints how they went as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from typing import Any

from weft.apps.gateway import AppGateway
from weft.net import OutboundClient, OutboundPolicy
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import Scope


@dataclass
class CallServices:
    """What a gateway needs (weft.apps.gateway.GatewayServices)."""

    db: Database
    settings: Settings
    outbound: OutboundClient


async def fire_calls(services: Any, scope: Scope, count: int) -> list[str]:
    """`count` concurrent get_contact calls: the errors (empty when all succeeded)."""
    gateway = AppGateway(
        services, scope.org_id, scope.environment, scope.linked_account_pk, "0" * 24
    )

    async def call(number: int) -> str | None:
        try:
            done = await gateway.call_action(
                "hubspot", "get_contact", {"contactId": str(number)}, outbound=services.outbound
            )
        except Exception as error:  # reported to the test, which fails on any
            return f"{type(error).__name__}: {error}"
        return None if done.output.get("id") == str(number) else f"odd answer {done.output}"

    answers = await asyncio.gather(*(call(number) for number in range(count)))
    return [answer for answer in answers if answer]


async def _main(job: dict[str, Any]) -> None:
    settings = Settings()  # WEFT_DATABASE_URL, WEFT_DATA_DIR, WEFT_OUTBOUND_ALLOW from the test
    db = Database(settings.resolved_database_url)
    outbound = OutboundClient(OutboundPolicy.parse(settings.outbound_allow))
    scope = Scope(**job["scope"])
    try:
        async with db.reading() as session:  # connected before the race starts
            await session.connection()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # the test's go
        errors = await fire_calls(CallServices(db, settings, outbound), scope, job["count"])
        print(json.dumps({"errors": errors}))
    finally:
        await outbound.aclose()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(_main(json.loads(sys.argv[1])))
