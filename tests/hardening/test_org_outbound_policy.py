"""Per-org outbound policy: an org opens private targets only within what the operator allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from engine.flows import BASE, publish, run
from engine.sink import Sink
from graphs import node
from support import Tenant, TenantFactory, assert_envelope, running_app, wait_until
from weft.engine.interpreter.outbound import effective_entries
from weft.errors import InvalidInput
from weft.net import OutboundPolicy
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import NotificationDelivery
from weft.tenancy.org_outbound import checked_entries

pytestmark = pytest.mark.integration

START = node("1", "start", "Start", trigger="manual")


@dataclass
class Servers:
    """The service an org may open (`opened`) and another port on the same host (`other`)."""

    opened: Sink
    other: Sink

    @property
    def opened_port(self) -> int:
        return int(self.opened.url.rsplit(":", 1)[1])


@pytest.fixture
def servers() -> AsyncIterator[Servers]:
    pair = Servers(Sink(), Sink())
    yield pair
    pair.opened.close()
    pair.other.close()


@pytest.fixture
async def policy_client(
    settings: Settings, db: Database, servers: Servers
) -> AsyncIterator[httpx.AsyncClient]:
    """No global allow-list; the operator lets orgs open one port of 127.0.0.1 and a range."""
    operator = {
        "outbound_allow": "",
        "outbound_org_allow": f"127.0.0.1:{servers.opened_port},10.20.0.0/16",
    }
    async with running_app(settings, db, **operator) as http:
        yield http


async def _set(client: httpx.AsyncClient, tenant: Tenant, entries: list[str]) -> httpx.Response:
    return await client.put(
        f"{BASE}/org/settings", json={"outbound_allow": entries}, headers=tenant.org_key
    )


async def _call(client: httpx.AsyncClient, tenant: Tenant, url: str) -> dict:
    workflow = await publish(client, tenant, [START, node("2", "http", "Call", url=url)])
    return await run(client, tenant, workflow, {})


async def test_org_policy_opens_the_allowed_port_for_that_org_only(
    policy_client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, servers: Servers
) -> None:
    client = policy_client
    other_org = await make_tenant("acct-b")
    # Before the org lists it, the guard refuses the local service.
    refused = await _call(client, tenant, servers.opened.url + "/before")
    assert refused["status"] == "FAILED" and "OUTBOUND_ORG_ALLOW" not in str(refused)
    assert "refused" in str(refused) and servers.opened.calls["/before"] == 0
    saved = await _set(client, tenant, [f"127.0.0.1:{servers.opened_port}"])
    assert saved.status_code == 200, saved.text
    assert saved.json()["outbound_allow"] == [f"127.0.0.1:{servers.opened_port}"]

    reached = await _call(client, tenant, servers.opened.url + "/after")
    assert reached["status"] == "COMPLETED", reached
    assert servers.opened.calls["/after"] == 1
    # Port granularity: the same host on another port stays closed.
    other_port = await _call(client, tenant, servers.other.url + "/port")
    assert other_port["status"] == "FAILED" and servers.other.calls["/port"] == 0
    # Another org's workflows do not inherit the policy (nor a pooled connection).
    neighbour = await _call(client, other_org, servers.opened.url + "/neighbour")
    assert neighbour["status"] == "FAILED" and servers.opened.calls["/neighbour"] == 0


@pytest.mark.parametrize(
    "entry",
    ["127.0.0.1", "127.0.0.1:8000", "169.254.169.254", "localhost", "10.0.0.0/8", "0.0.0.0/0"],
)
async def test_org_cannot_open_what_the_operator_did_not_permit(
    policy_client: httpx.AsyncClient, tenant: Tenant, entry: str
) -> None:
    body = assert_envelope(await _set(policy_client, tenant, [entry]), 400)
    assert body["error_code"] == "OUTBOUND_NOT_PERMITTED"
    assert "WEFT_OUTBOUND_ORG_ALLOW" in body["message"]
    got = await policy_client.get(f"{BASE}/org/settings", headers=tenant.org_key)
    assert got.json()["outbound_allow"] == []


async def test_org_entries_are_normalised_and_malformed_ones_refused(
    policy_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    saved = await _set(policy_client, tenant, ["10.20.30.0/24:443", "10.20.1.5", "10.20.1.5"])
    assert saved.json()["outbound_allow"] == ["10.20.30.0/24:443", "10.20.1.5"]
    for bad in ["not a host", "10.20.1.5:99999", "10.20.0.0/33"]:
        body = assert_envelope(await _set(policy_client, tenant, [bad]), 400)
        assert body["error_code"] == "INVALID_OUTBOUND_ENTRY"


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
def test_without_an_operator_ceiling_orgs_open_nothing() -> None:
    with pytest.raises(InvalidInput):
        checked_entries(["127.0.0.1:9000"], OutboundPolicy.parse(""))


@pytest.mark.unit  # no database, app or server, unlike the rest of this module
def test_a_narrowed_ceiling_drops_stored_org_entries_at_run_time() -> None:
    stored = ["127.0.0.1:9000", "10.0.0.0/8", "garbage entry"]
    assert effective_entries(stored, OutboundPolicy.parse("127.0.0.1:9000")) == ("127.0.0.1:9000",)
    assert effective_entries(stored, OutboundPolicy.parse("")) == ()


async def test_org_policy_applies_to_its_own_notification_webhooks(
    policy_client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: TenantFactory,
    servers: Servers,
    db: Database,
) -> None:
    client = policy_client
    other_org = await make_tenant("acct-b")
    assert (await _set(client, tenant, [f"127.0.0.1:{servers.opened_port}"])).status_code == 200
    subscriptions = []
    for org, path in ((tenant, "/hook"), (other_org, "/neighbour-hook")):
        body = {"webhook_url": servers.opened.url + path, "webhook_events": ["Workflow Completed"]}
        created = await client.post(f"{BASE}/webhook", json=body, headers=org.org_key)
        assert created.status_code == 200, created.text
        subscriptions.append(created.json()["_id"])
        done = await run(client, org, await publish(client, org, [START]), {})
        assert done["status"] == "COMPLETED", done
    # The org that opened the port hears of its run there; its neighbour's delivery is refused.
    await wait_until(lambda: servers.opened.calls["/hook"] == 1, what="the org's webhook")

    async def neighbour_refused() -> bool:
        async with db.reading() as session:
            errors = await session.scalars(
                select(NotificationDelivery.last_error).where(
                    NotificationDelivery.subscription_id == subscriptions[1]
                )
            )
            return any(error and "refused" in error for error in errors)

    await wait_until(neighbour_refused, what="the neighbour's delivery refused")
    assert servers.opened.calls["/neighbour-hook"] == 0
