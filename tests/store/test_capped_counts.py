"""List envelopes count at most 1,000 rows past the page: totalDocs is exact below that and a
lower bound above it, while hasNextPage and nextPage stay exact."""

from __future__ import annotations

import httpx
import pytest

from support import Tenant
from weft.store import pagination

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
ACCOUNTS = 12  # the tenant's own, plus 11


async def test_a_capped_count_says_so_and_paging_still_reaches_every_row(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(ACCOUNTS - 1):
        created = await client.post(
            f"{BASE}/linked-account",
            json={"linked_account_id": f"a{number}"},
            headers=tenant.org_key,
        )
        assert created.status_code < 300, created.text
    monkeypatch.setattr(pagination, "COUNT_PAST_PAGE", 3)

    async def page(number: int) -> dict:
        answer = await client.get(
            f"{BASE}/linked-account?limit=2&page={number}", headers=tenant.org_key
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = await page(1)
    # Counted up to the page's end plus 3: a lower bound, said to be one.
    assert (first["totalDocs"], first["totalDocsExact"]) == (5, False)
    assert first["hasNextPage"] and first["nextPage"] == 2
    # Near the end the count reaches every row and is exact again.
    last = await page(6)
    assert (last["totalDocs"], last["totalDocsExact"], last["hasNextPage"]) == (12, True, False)
    # Following nextPage from the start reaches every row once.
    seen, number = [], 1
    while number is not None:
        listed = await page(number)
        seen += [doc["linked_account_id"] for doc in listed["docs"]]
        number = listed["nextPage"]
    assert len(seen) == len(set(seen)) == ACCOUNTS


async def test_counts_below_the_cap_are_exact(client: httpx.AsyncClient, tenant: Tenant) -> None:
    listed = await client.get(f"{BASE}/linked-account?limit=1", headers=tenant.org_key)
    assert (listed.json()["totalDocs"], listed.json()["totalDocsExact"]) == (1, True)
