"""A whole host killed under load, behind a real reverse proxy (tests/hosts.py): two hosts on
one PostgreSQL, one running `weft serve` with two processes, the other the split form (`weft
api` beside a `weft worker`), Debian's nginx balancing between them. Async triggers, sync
callers and a schedule run through it; then the first host's whole process group gets SIGKILL.
Where the machine allows it (root), each host has a network namespace of its own, as separate
machines have (tests/hosts.py `Network`); elsewhere the hosts share the loopback network.

Proved: no accepted run is lost and no completed step repeated (tests/faults/fault_load.py's
invariants); sync callers whose request was on the dead host get an error (502 from the proxy)
and their retry with the same Idempotency-Key, landing on the surviving host, answers the one
run; each schedule tick fires once, including a tick made due as the host dies.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fault_load import Triggers, check_invariants, publish_load, wait_settled
from sqlalchemy import select, update

from engine.flows import execute, publish
from engine.sink import Sink
from graphs import node
from hosts import Host, Network, start_balancer, start_host
from support import Tenant
from weft.engine.starts.scheduler import schedule_key
from weft.store.db import Database
from weft.store.tables import Execution, Schedule
from worker_processes import busy_pids, stop, unexpected_log_lines

pytestmark = pytest.mark.slow

HOST_ENV = {
    "WEFT_RATE_LIMIT_API_KEY": "0",
    "WEFT_RATE_LIMIT_SESSION_TOKEN": "0",
    "WEFT_RATE_LIMIT_WEBHOOK": "0",
    "WEFT_WORKER_CONCURRENCY": "8",
    "WEFT_CODE_WORKERS": "1",
}
IN_FLIGHT = 16  # async runs triggered and not yet ended, kept up through the kill
SYNC_CALLERS = 6
SYNC_FIRST = 100_000  # sync callers' run numbers, apart from the async ones
AFTER_KILL_S = 3.0  # load kept up on the survivor alone
TICK_BASE = datetime(2020, 1, 1, tzinfo=UTC)  # forced ticks: distinct, long past, never real


@pytest.fixture
def network() -> Iterator[Network | None]:
    """Network namespaces for the hosts when this machine lets us make them, else None."""
    if not Network.available():
        yield None
        return
    try:
        made = Network()
    except RuntimeError:  # root without the right to make links (a container without NET_ADMIN)
        yield None
        return
    yield made
    made.close()


@pytest.fixture
def sink(network: Network | None) -> Iterator[Sink]:
    """The outside service, where every host reaches it: on the bridge when there is one."""
    server = Sink(network.gateway if network else "127.0.0.1")
    yield server
    server.close()


async def test_a_killed_host_loses_no_run_and_its_sync_callers_retry_onto_the_survivor(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    db_url: str,
    sink: Sink,
    network: Network | None,
    tmp_path: Path,
) -> None:
    workflow_id = await publish_load(client, tenant, sink)
    schedule_id = await publish(
        client,
        tenant,
        [
            node("1", "start", "Every minute", trigger="schedule", cron="* * * * *"),
            node("2", "transform", "Tick", value="{{ trigger.scheduled_at }}"),
        ],
        name="host-kill schedule",
    )
    env = {**HOST_ENV, "WEFT_OUTBOUND_ALLOW": network.gateway if network else "127.0.0.1"}
    doomed = start_host("doomed", db_url, tmp_path, processes=2, network=network, **env)
    survivor = start_host("survivor", db_url, tmp_path, split=True, network=network, **env)
    proxy, base = start_balancer(tmp_path / "nginx", [doomed, survivor])
    ticks: list[datetime] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as through_proxy:
            triggers = Triggers(through_proxy, tenant, workflow_id, through_proxy=True)
            sync = SyncCallers(through_proxy, tenant, workflow_id, triggers)
            stop_load = asyncio.Event()
            feeder = asyncio.create_task(triggers.keep_in_flight(db, IN_FLIGHT, stop_load))
            callers = [
                asyncio.create_task(sync.keep_calling(SYNC_FIRST + 1000 * n, stop_load))
                for n in range(SYNC_CALLERS)
            ]
            try:
                ticks.append(await force_tick(db, schedule_id, len(ticks)))
                ticks.append(await force_tick(db, schedule_id, len(ticks)))  # due as it dies
                await kill_while_holding_runs(db, doomed, triggers)
                assert sync.in_flight, "no sync caller was waiting"
                await asyncio.sleep(AFTER_KILL_S)
                ticks.append(await force_tick(db, schedule_id, len(ticks)))
            finally:
                stop_load.set()
                await feeder
                await asyncio.gather(*callers)
        statuses = await wait_settled(db, triggers.ids, timeout_s=90)
        figures = await check_invariants(db, triggers, sink)
        fired = await schedule_keys(db, schedule_id, ticks)
    finally:
        stop(proxy)
        doomed.kill_remaining()
        survivor.stop()

    assert statuses == {"succeeded": figures.runs}
    assert sync.gateway_errors, "no sync caller was on the dead host: the test proved little"
    assert set(sync.gateway_errors) <= set(sync.answered), "a sync caller never got its answer"
    assert figures.reclaimed_runs >= 1, "no run was cut off by the kill: the test proved little"
    assert fired == Counter({schedule_key(schedule_id, tick): 1 for tick in ticks}), fired
    assert unexpected_log_lines(survivor.data_dir) == []
    hosts_on = "network namespaces" if network else "loopback"
    print(
        f"\nhost kill ({hosts_on}): sync callers cut off {len(sync.gateway_errors)}, answered "
        f"{len(sync.answered)}; async refusals {dict(triggers.refusals)}, {figures}"
    )


class SyncCallers:
    """Callers that wait for each run's end (`sync-execution: true`), one run after another,
    each with an Idempotency-Key they resend until answered."""

    def __init__(
        self, http: httpx.AsyncClient, tenant: Tenant, workflow_id: str, triggers: Triggers
    ) -> None:
        self.http, self.tenant, self.workflow_id = http, tenant, workflow_id
        self.triggers = triggers  # the invariants cover the sync runs with the async ones
        self.in_flight: set[int] = set()
        self.gateway_errors: Counter[int] = Counter()  # run number -> errors its caller got
        self.answered: set[int] = set()

    async def keep_calling(self, first: int, stop_calling: asyncio.Event) -> None:
        i = first
        while not stop_calling.is_set():
            await self.call(i)
            i += 1

    async def call(self, i: int, give_up_after_s: float = 90) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + give_up_after_s
        headers = {"Idempotency-Key": f"fault-run-{i}", "sync-execution": "true"}
        self.in_flight.add(i)
        while True:
            answer = await execute(self.http, self.tenant, self.workflow_id, {"i": i}, **headers)
            if answer.status_code == 200:
                break
            # 502: the proxy lost the host with the request in flight; 202: the run goes on
            # past the sync bound (the dead host's run waits for its lease to lapse).
            assert answer.status_code in (502, 202), answer.text
            if answer.status_code == 502:
                self.gateway_errors[i] += 1
            assert loop.time() < deadline, f"sync run {i} was never answered"
            await asyncio.sleep(0.1)
        self.in_flight.discard(i)
        execution_id = answer.headers["x-execution-id"]
        earlier = self.triggers.accepted.setdefault(i, execution_id)
        assert earlier == execution_id, f"sync run {i} answered by two runs"
        assert answer.json() == f"done {i}", answer.text
        self.answered.add(i)


async def kill_while_holding_runs(
    db: Database, host: Host, triggers: Triggers, timeout_s: float = 60
) -> None:
    """Kill `host` the moment one of its processes is seen holding running runs, so the kill
    cuts work off: on a loaded machine, anything awaited between the look and the kill gives
    those runs time to end (a fresh-clone run at load average 12 saw exactly that)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        busy, _ = await busy_pids(db, triggers.ids)
        if busy & host.group_pids():
            host.kill()  # not in a thread: a thread's start is one more wait under load
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{host.name} never held a running run")


async def force_tick(db: Database, schedule_id: str, n: int) -> datetime:
    """Make the schedule due now at a tick of its own (a minute boundary would make the test
    wait up to a minute for each); both hosts' schedulers race for it. The tick before must
    have fired first, else this one would replace it."""
    if n:
        earlier = schedule_key(schedule_id, TICK_BASE + timedelta(minutes=n - 1))
        await wait_fired(db, schedule_id, earlier)
    tick = TICK_BASE + timedelta(minutes=n)
    async with db.transaction() as session:
        await session.execute(
            update(Schedule).where(Schedule.workflow_id == schedule_id).values(next_fire_at=tick)
        )
    return tick


async def wait_fired(db: Database, schedule_id: str, key: str, timeout_s: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        async with db.reading() as session:
            found = await session.scalar(
                select(Execution.id).where(
                    Execution.workflow_id == schedule_id, Execution.idempotency_key == key
                )
            )
        if found:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{key} never fired")


async def schedule_keys(
    db: Database, schedule_id: str, ticks: list[datetime], timeout_s: float = 30
) -> Counter[str]:
    """How many runs each forced tick made, once each has one that ended (and a moment more,
    long enough for a second fire to show)."""
    wanted = {schedule_key(schedule_id, tick) for tick in ticks}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    settled_at = None
    while True:
        async with db.reading() as session:
            rows = (
                await session.execute(
                    select(Execution.idempotency_key, Execution.status).where(
                        Execution.workflow_id == schedule_id
                    )
                )
            ).all()
        keys = Counter(str(key) for key, _ in rows if str(key) in wanted)
        ended = {str(key) for key, status in rows if status == "succeeded"}
        if wanted <= ended:
            settled_at = settled_at or loop.time()
            if loop.time() - settled_at >= 1.5:
                return keys
        if loop.time() > deadline:
            return keys
        await asyncio.sleep(0.2)
