"""The failed-sign-in limit behind a real reverse proxy (Debian's nginx) and in front of none.

`weft serve` runs as operators run it; nginx forwards with `$proxy_add_x_forwarded_for`, from an
upstream address of its own (`proxy_bind`) that WEFT_TRUSTED_PROXIES names. Clients call from
addresses of their own on the loopback network (127.0.0.0/8), so each is a different client.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

import httpx
import pytest

from engine.flows import BASE
from hosts import nginx_conf, start_nginx
from support import TenantFactory
from worker_processes import free_port, start_server, stop

pytestmark = pytest.mark.slow

FAILED_AUTH_LIMIT = 3
WRONG_KEY = {"x-api-key": "weft_test_wrong"}


def loopback_address() -> str:
    """An address on the loopback network no other test uses (PostgreSQL keeps the counts)."""
    return str(ipaddress.IPv4Address(0x7F010000 + secrets.randbelow(1 << 16)))


def client_from(address: str, base: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, transport=transport, timeout=30)


def attempts_until_refused(http: httpx.Client, forged: bool) -> list[int]:
    """Wrong keys until one is refused with 429. Windows are the wall clock's minutes: one may
    end during the attempts (counting afresh), never twice, so twice the limit plus one suffice."""
    answers: list[int] = []
    while len(answers) < 2 * FAILED_AUTH_LIMIT + 1 and 429 not in answers:
        headers = dict(WRONG_KEY)
        if forged:
            headers["x-forwarded-for"] = f"{loopback_address()}, {loopback_address()}"
        answers.append(http.get(f"{BASE}/workflow", headers=headers).status_code)
    return answers


async def test_behind_nginx_only_the_guesser_is_refused_and_forged_hops_change_nothing(
    db_url: str, make_tenant: TenantFactory, tmp_path: Path
) -> None:
    first, second = await make_tenant(), await make_tenant()
    folder, proxy_port = tmp_path / "nginx", free_port()
    folder.mkdir()
    proxy_address, guesser, neighbour = loopback_address(), loopback_address(), loopback_address()
    weft_port = free_port()
    server = start_server(
        "serve",
        db_url,
        tmp_path,
        weft_port,
        "--processes",
        "1",
        "--no-migrate",
        WEFT_TRUSTED_PROXIES=proxy_address,
        WEFT_RATE_LIMIT_FAILED_AUTH=str(FAILED_AUTH_LIMIT),
        WEFT_WORKERS="0",
    )
    conf = nginx_conf(folder, proxy_port, f"http://127.0.0.1:{weft_port}", bind=proxy_address)
    proxy = start_nginx(folder, conf, proxy_port)
    try:
        # Straight to Weft from 127.0.0.1, which uvicorn's default would trust: forged hops are
        # ignored, so the limit still applies (before: every forged hop was a fresh address).
        with client_from("127.0.0.1", f"http://127.0.0.1:{weft_port}") as direct:
            answers = attempts_until_refused(direct, forged=True)
            assert answers[-1] == 429 and set(answers[:-1]) <= {401}, answers
        proxied = f"http://127.0.0.1:{proxy_port}"
        with client_from(guesser, proxied) as guessing:
            answers = attempts_until_refused(guessing, forged=True)
            assert answers[-1] == 429 and set(answers[:-1]) <= {401}, answers
            # Valid keys and tokens of other orgs from the guesser's own address are served.
            for tenant in (first, second):
                listed = guessing.get(f"{BASE}/linked-account", headers=tenant.org_key)
                assert listed.status_code == 200, listed.text
                mine = guessing.get(f"{BASE}/workflow", headers=tenant.bearer)
                assert mine.status_code == 200, mine.text
        # Another client behind the same proxy is its own address, not the proxy's.
        with client_from(neighbour, proxied) as other:
            assert other.get(f"{BASE}/workflow", headers=WRONG_KEY).status_code == 401
    finally:
        proxy.terminate()
        proxy.wait(20)
        stop(server)
