"""The guarded connector: refusals surface as such, only checked answers are cached and dialled,
and the pooled session is made lazily inside the event loop that uses it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence

import pytest
from outbound_servers import TinyServer, rebinding_resolver

from weft.net import BlockedDestination, OutboundClient, OutboundConnectionError, OutboundPolicy

pytestmark = pytest.mark.integration

MakeClient = Callable[..., OutboundClient]


async def test_refusal_inside_the_resolver_surfaces_as_blocked_destination(
    server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    async def private(host: str, port: int) -> Sequence[str]:
        return ["10.0.0.7"]

    client = make_client(resolver=private)
    # Concurrent requests share one lookup; every one of them gets the refusal itself.
    outcomes = await asyncio.gather(
        *(client.request("GET", server.url("/json", host="inside.test")) for _ in range(3)),
        return_exceptions=True,
    )
    for outcome in outcomes:
        assert type(outcome) is BlockedDestination
        assert outcome.address == "10.0.0.7"
        assert "inside.test (10.0.0.7)" in outcome.message
    assert dials == []


async def test_refused_answers_are_never_cached(
    server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    answers = [["10.0.0.7"], ["127.0.0.1"]]

    async def changing(host: str, port: int) -> Sequence[str]:
        return answers.pop(0)

    client = make_client("127.0.0.1", resolver=changing)
    with pytest.raises(BlockedDestination):
        await client.request("GET", server.url("/json", host="changing.test"))
    # The refusal was not remembered as an answer: the next request looks the name up again.
    assert (await client.request("GET", server.url("/json", host="changing.test"))).status == 200
    assert answers == []
    assert dials == ["127.0.0.1"]


async def test_new_connections_reuse_the_checked_answer(
    server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    calls: list[str] = []
    client = make_client("127.0.0.1", resolver=rebinding_resolver(calls))
    url = server.url("/pause", host="rebind.test")
    responses = await asyncio.gather(*(client.request("GET", url) for _ in range(3)))
    assert [r.body for r in responses] == ["paused"] * 3
    # Three connections at once, one lookup: each dial went to the checked address.
    assert calls == ["rebind.test"]
    assert dials == ["127.0.0.1"] * 3
    assert server.connections == 3


async def test_allow_list_port_is_checked_for_names_resolved_by_the_connector(
    server: TinyServer, other_server: TinyServer, make_client: MakeClient, dials: list[str]
) -> None:
    async def loopback(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1"]

    client = make_client(f"127.0.0.1:{server.port}", resolver=loopback)
    assert (await client.request("GET", server.url("/json", host="api.test"))).status == 200
    with pytest.raises(BlockedDestination):
        await client.request("GET", other_server.url("/json", host="api.test"))
    assert dials == ["127.0.0.1"]


@pytest.fixture
def server_port() -> Iterator[int]:
    """A TinyServer on its own thread's event loop, for a test that runs a loop of its own."""
    started = threading.Event()
    port: list[int] = []
    stop: list[Callable[[], object]] = []

    async def main() -> None:
        tiny = TinyServer()
        await tiny.start()
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        port.append(tiny.port)
        stop.append(lambda: loop.call_soon_threadsafe(done.set))
        started.set()
        await done.wait()
        await tiny.stop()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(5)
    yield port[0]
    stop[0]()
    thread.join(5)


def test_client_built_outside_an_event_loop_works_inside_one(server_port: int) -> None:
    # create_app and build_services make their clients before any loop runs.
    client = OutboundClient(OutboundPolicy.parse("127.0.0.1"))

    async def use() -> int:
        try:
            return (await client.request("GET", f"http://127.0.0.1:{server_port}/json")).status
        finally:
            await client.aclose()

    assert asyncio.run(use()) == 200


async def test_requests_after_aclose_fail_cleanly(
    server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1")
    assert (await client.request("GET", server.url("/json"))).status == 200
    await client.aclose()
    with pytest.raises(OutboundConnectionError, match="closed"):
        await client.request("GET", server.url("/json"))
