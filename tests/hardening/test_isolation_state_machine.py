"""Tenant isolation as a Hypothesis state machine: random calls by several orgs and linked
accounts with every credential form; no call reads, changes or reveals another tenant's object.

The model knows which tenant owns each workflow and what it is called. Every call is made by a
random caller with a random credential (its own, another tenant's, revoked, malformed, none):
only the owner with a working credential may see or change a workflow; everyone else gets the
same 404 whether the workflow exists or not (or 401 for a credential that does not work).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from support import NO_RATE_LIMITS
from weft.api.deps import app_state
from weft.app import create_app
from weft.apps.catalog import create_default_app
from weft.apps.service import prepare_database
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import OrgScope
from weft.tenancy.orgs import create_org
from weft.tenancy.tokens import issue_session_token, revoke_session_tokens

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
ABSENT = "0" * 24


@dataclass
class Caller:
    """One linked account of one org, with every credential form it can present."""

    name: str
    org_key: str
    account_id: str
    token: str
    revoked_token: str

    def headers(self, form: str) -> dict[str, str]:
        return {
            "token": {"Authorization": f"Bearer {self.token}"},
            "org_key": {"x-api-key": self.org_key, "linked_account_id": self.account_id},
            "revoked": {"Authorization": f"Bearer {self.revoked_token}"},
            "malformed": {"Authorization": "Bearer not-a-real-token"},
            "none": {},
        }[form]


@dataclass
class World:
    """A client of one app and its database, on one event loop."""

    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    db: Database

    def call(self, method: str, path: str, headers: dict[str, str], **kwargs: object):
        return self.loop.run_until_complete(
            self.client.request(method, path, headers=headers, **kwargs)
        )


async def _tenants(db: Database) -> list[Caller]:
    callers: list[Caller] = []
    for org_index in range(2):
        async with db.transaction() as session:
            created = await create_org(
                f"org {uuid.uuid4().hex[:6]}", add_default_app=create_default_app, session=session
            )
        org = OrgScope(created.org.id, "test")
        for account in ("a", "b"):
            async with db.transaction() as session:
                revoked = await issue_session_token(
                    org, account, expires_in=3600, max_expires_in=3600, session=session
                )
                await revoke_session_tokens(org, token=revoked.token, session=session)
                live = await issue_session_token(
                    org, account, expires_in=3600, max_expires_in=3600, session=session
                )
            callers.append(
                Caller(f"org{org_index}/{account}", created.api_keys["test"], account,
                       live.token, revoked.token)
            )  # fmt: skip
    return callers


# Names a client may really send (NUL and lone surrogates are refused at the door: see
# test_odd_input.py), not blank.
NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(lambda text: text.strip())
CREDENTIALS = st.sampled_from(["token", "org_key", "revoked", "malformed", "none"])
WORKING = {"token", "org_key"}


def build_machine(world: World) -> type[RuleBasedStateMachine]:
    # Each example gets fresh orgs (the database keeps earlier examples' rows): callers are
    # drawn by index into this example's own tenants.
    callers = st.integers(min_value=0, max_value=3)

    class Isolation(RuleBasedStateMachine):
        workflows = Bundle("workflows")

        def __init__(self) -> None:
            super().__init__()
            self.callers = world.loop.run_until_complete(_tenants(world.db))
            self.owner: dict[str, str] = {}  # workflow id -> owner name
            self.names: dict[str, str] = {}

        @rule(target=workflows, who=callers, name=NAMES)
        def create(self, who: int, name: str) -> str:
            caller = self.callers[who]
            answer = world.call("POST", f"{BASE}/workflow", caller.headers("token"),
                                json={"name": name})  # fmt: skip
            assert answer.status_code == 200, answer.text
            workflow_id = answer.json()["workflow"]["associated_workflow"]
            self.owner[workflow_id] = caller.name
            self.names[workflow_id] = answer.json()["workflow"]["name"]
            return str(workflow_id)

        @rule(workflow=workflows, who=callers, form=CREDENTIALS)
        def read(self, workflow: str, who: int, form: str) -> None:
            caller = self.callers[who]
            answer = world.call("GET", f"{BASE}/workflow/{workflow}", caller.headers(form))
            self._judge(answer, workflow, caller, form)
            if answer.status_code == 200:
                assert answer.json()["name"] == self.names[workflow]

        @rule(workflow=workflows, who=callers, form=CREDENTIALS, name=NAMES)
        def rename(self, workflow: str, who: int, form: str, name: str) -> None:
            caller = self.callers[who]
            answer = world.call("PATCH", f"{BASE}/workflow/{workflow}", caller.headers(form),
                                json={"name": f"renamed {name}"})  # fmt: skip
            self._judge(answer, workflow, caller, form)
            if answer.status_code == 200:
                self.names[workflow] = answer.json()["name"]

        @rule(workflow=consumes(workflows), who=callers, form=CREDENTIALS)
        def delete(self, workflow: str, who: int, form: str) -> None:
            caller = self.callers[who]
            answer = world.call("DELETE", f"{BASE}/workflow/{workflow}", caller.headers(form))
            self._judge(answer, workflow, caller, form)
            if answer.status_code == 200:
                del self.owner[workflow], self.names[workflow]

        @rule(who=callers, form=CREDENTIALS)
        def read_absent(self, who: int, form: str) -> None:
            caller = self.callers[who]
            answer = world.call("GET", f"{BASE}/workflow/{ABSENT}", caller.headers(form))
            assert answer.status_code == (404 if form in WORKING else 401), answer.text

        @rule(who=callers)
        def list_shows_only_own(self, who: int) -> None:
            caller = self.callers[who]
            answer = world.call("GET", f"{BASE}/workflow", caller.headers("token"),
                                params={"limit": 100})  # fmt: skip
            assert answer.status_code == 200, answer.text
            listed = {doc["_id"] for doc in answer.json()["docs"]}
            mine = {wf for wf, owner in self.owner.items() if owner == caller.name}
            assert listed == mine

        @invariant()
        def owners_still_see_their_workflows(self) -> None:
            for workflow, owner_name in list(self.owner.items())[:3]:
                owner = next(c for c in self.callers if c.name == owner_name)
                answer = world.call("GET", f"{BASE}/workflow/{workflow}", owner.headers("token"))
                assert answer.status_code == 200, answer.text
                assert answer.json()["name"] == self.names[workflow]

        def _judge(self, answer: httpx.Response, workflow: str, caller: Caller, form: str) -> None:
            assert answer.status_code < 500, answer.text
            if form not in WORKING:
                assert answer.status_code == 401, answer.text
            elif self.owner.get(workflow) == caller.name:
                assert answer.status_code == 200, answer.text
            else:  # another tenant's, or already deleted: the same answer either way
                assert answer.status_code == 404, answer.text
                assert workflow not in answer.text or "not found" in answer.text.lower()

    return Isolation


def test_no_sequence_of_calls_crosses_a_tenant_boundary(db_url: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    config = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        workers=0,
        **NO_RATE_LIMITS,
    )
    db = Database(db_url)
    app = create_app(config, db=db)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://weft.test")
    try:
        loop.run_until_complete(prepare_database(db))
        world = World(loop, client, db)
        run_state_machine_as_test(
            build_machine(world),
            settings=settings(
                max_examples=15,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            ),
        )
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(app_state(app).services.close())
        loop.run_until_complete(db.dispose())
        loop.close()
