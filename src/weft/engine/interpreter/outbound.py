"""Each org's outbound client: the global allow-list plus the org's own, within the operator's.

An org's `outbound_allow` setting lists private destinations its workflows may reach beyond
`WEFT_OUTBOUND_ALLOW`. It can only use what the operator lets orgs open
(`WEFT_OUTBOUND_ORG_ALLOW`, empty by default: then the org list opens nothing). The rule is
checked when the org saves its list and again here, so an operator who narrows the setting
narrows every org at once. The org's list is read when each run starts (one primary-key read,
made only when the operator set `WEFT_OUTBOUND_ORG_ALLOW`), so a change applies to the next run.

The guard checks a destination when a connection is opened, and a pooled connection is reused
by whoever asks for that host next. So an org with its own entries gets its own client (its own
connection pool): a connection opened under one org's wider policy never serves another org.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import TYPE_CHECKING

from weft.net import OutboundClient, OutboundPolicy
from weft.store.db import Database

if TYPE_CHECKING:
    from weft.engine.workers.services import Services

MAX_CLIENTS = 256
RETIRED_CLIENT_CLOSE_S = 600.0  # an evicted client may still carry requests in flight


def effective_entries(org_entries: list[str], ceiling: OutboundPolicy) -> tuple[str, ...]:
    """The org's entries the operator's ceiling still permits, in a stable order."""
    kept = []
    for entry in org_entries:
        try:
            if ceiling.covers(entry):
                kept.append(entry)
        except ValueError:
            continue  # stored before a rule change; never fatal to a run
    return tuple(sorted(set(kept)))


class OrgOutbound:
    """Hands out the outbound client for an org: the shared one, or the org's own."""

    def __init__(self, db: Database, base: OutboundClient, global_allow: str, ceiling: str) -> None:
        self.db = db
        self.base = base
        self.global_entries = OutboundPolicy.parse(global_allow).allow
        self.ceiling = OutboundPolicy.parse(ceiling)
        self._clients: OrderedDict[tuple[str, ...], OutboundClient] = OrderedDict()
        self._retired: set[OutboundClient] = set()
        self._retiring: set[asyncio.Task[None]] = set()

    async def for_org(self, org_id: str) -> OutboundClient:
        """The client `org_id`'s workflows send through."""
        if not self.ceiling.allow:
            return self.base  # orgs may open nothing of their own: no lookup needed
        entries = await self._entries_of(org_id)
        if not entries:
            return self.base
        client = self._clients.get(entries)
        if client is None:
            policy = OutboundPolicy(allow=self.global_entries + entries)
            client = self._clients[entries] = OutboundClient(policy)
            if len(self._clients) > MAX_CLIENTS:
                _, oldest = self._clients.popitem(last=False)
                self._retire(oldest)
        else:
            self._clients.move_to_end(entries)
        return client

    async def _entries_of(self, org_id: str) -> tuple[str, ...]:
        from weft.tenancy.org_outbound import outbound_allow_of

        async with self.db.reading() as session:
            stored = await outbound_allow_of(org_id, session=session)
        return effective_entries(stored, self.ceiling)

    def _retire(self, client: OutboundClient) -> None:
        self._retired.add(client)

        async def close_later() -> None:
            await asyncio.sleep(RETIRED_CLIENT_CLOSE_S)
            self._retired.discard(client)
            await client.aclose()

        task = asyncio.ensure_future(close_later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def aclose(self) -> None:
        """Close the orgs' own clients (the shared one belongs to Services)."""
        for task in list(self._retiring):
            task.cancel()
        clients = [*self._clients.values(), *self._retired]
        self._clients, self._retired = OrderedDict(), set()
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)


async def outbound_for(services: Services, org_id: str) -> OutboundClient:
    """The outbound client `org_id`'s nodes use (the shared one when no router is set up)."""
    router = services.org_outbound
    if router is None:
        return services.outbound
    return await router.for_org(org_id)
