"""Schemathesis against Weft's own `/openapi.json`: every route keeps its documented contract.

Every operation of the schema is fuzzed (explicit examples, Schemathesis' coverage cases, then
random positive and negative cases) on both databases, in-process through the ASGI app on a real
migrated database, as a real org whose linked account calls with either credential form:
the org key with the `linked_account_id` header, or a session token (`Authorization: Bearer`).
Invariants, for every response:
- no 5xx;
- the status code is documented for the operation, and so is the content type;
- the body and headers match the documented schema;
- every error is Refold's envelope (status_code, http_error_type, error_code, message,
  request_id), except the HTML error pages of the two browser pages (the editor, the OAuth
  callback), which the schema documents as `text/html`.

Nothing is excluded. Path parameters are either generated or, half the time, the ids of objects
seeded for the tenant (a published workflow, a finished execution, a webhook...), so the fuzzer
reaches past the 404. The engine does not run (`workers=0`): runs stay queued, so the event
stream is only ever opened on a finished execution (it would otherwise stream until the run
ends) and sync calls give up after `sync_timeout_s`.
"""

from __future__ import annotations

import asyncio
import copy
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from support import DATABASES, NO_RATE_LIMITS, Tenant, assert_envelope
from weft.api.deps import app_state
from weft.app import create_app
from weft.apps.catalog import create_default_app
from weft.apps.service import prepare_database
from weft.cli.openapi_document import openapi_document
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import OrgScope
from weft.tenancy.orgs import create_org
from weft.tenancy.tokens import issue_session_token

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
# Random cases per operation and database; Schemathesis adds its explicit examples and coverage
# cases (boundaries, wrong types, missing fields) to these. Whole tier: about 2 minutes of CPU.
EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Cases tried per database and credential form, printed when the module ends (`pytest -s`).
TRIED: Counter[tuple[str, str]] = Counter()


# Built once (about 2 s, in every xdist worker's collection); the stateful schema below takes a
# copy of its own.
DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none"},
            # Health checks judge the generator (slow to build a draft's node union on a busy
            # CI machine), not the app: they must not fail the run.
            "suppress-health-check": ["all"],
        }
    ),
)

# The seeded world of the database under test: path parameter -> a real id of the tenant.
SEEDED: dict[str, str] = {}
# DELETE of a seeded object would leave the operations after it nothing to reach: it gets a
# spare object of its own.
SPARE_FOR_DELETE: dict[str, str] = {}


@schema.hook("flatmap_path_parameters")
def _half_real_ids(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy:
    deleting = context.operation is not None and context.operation.method.upper() == "DELETE"

    def real(use_seeded: bool) -> dict[str, Any] | None:
        if not use_seeded or not path_parameters:
            return path_parameters
        seeded = {**SEEDED, **(SPARE_FOR_DELETE if deleting else {})}
        return {name: seeded.get(name, value) for name, value in path_parameters.items()}

    return st.booleans().map(real)


def _auth_form(case: Case) -> str:
    """`org_key` or `session_token`, whichever the operation accepts (both: half each)."""
    forms = []
    for requirement in case.operation.definition.raw.get("security") or []:
        forms += [form for scheme, form in _SCHEMES.items() if scheme in requirement]
    if not forms:
        return "none"
    # From the case itself, so a replayed (shrunk) case is sent the same way.
    return forms[zlib.crc32(repr(case).encode()) % len(forms)]


_SCHEMES = {"APIKeyHeader": "org_key", "HTTPBearer": "session_token"}


@dataclass
class World:
    """One app on one database, driven from one event loop, with a tenant to act as."""

    database: str
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    tenant: Tenant

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request = self.client.request(method, path, **kwargs)
        # A hang is a finding too: fail it rather than stall CI.
        return self.loop.run_until_complete(asyncio.wait_for(request, 30))

    def send(self, case: Case) -> httpx.Response:
        """The case as Schemathesis would send it, with the tenant's credentials."""
        kwargs = case.as_transport_kwargs(base_url=str(self.client.base_url))
        headers = dict(kwargs.pop("headers", None) or {})
        form = _auth_form(case)
        TRIED[(self.database, form)] += 1
        if form == "org_key":
            headers.update(self.tenant.as_org())
        elif form == "session_token":
            headers.update(self.tenant.bearer)
        cookies = kwargs.get("cookies") or {}
        if cookies:  # httpx deprecates per-request cookies: send the header they make
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        # Generated values may be non-ASCII (`Bearer Ú`): send their UTF-8 bytes, as a raw client
        # would, instead of letting httpx refuse to encode them.
        headers = {
            name: value.encode() if isinstance(value, str) and not value.isascii() else value
            for name, value in headers.items()
        }
        body: dict[str, Any] = {}
        if "json" in kwargs:
            body["json"] = kwargs.pop("json")
        if "data" in kwargs:
            data = kwargs.pop("data")
            body["content" if isinstance(data, bytes | str) else "data"] = data
        return self.call(
            kwargs["method"],
            kwargs["url"],
            params=kwargs.get("params"),
            headers=headers,
            **body,
        )


async def _tenant(db: Database) -> Tenant:
    async with db.transaction() as session:
        created = await create_org(
            "fuzzed org", add_default_app=create_default_app, session=session
        )
        issued = await issue_session_token(
            OrgScope(created.org.id, "test"),
            "acct-fuzz",
            expires_in=3600,
            max_expires_in=3600,
            session=session,
        )
    return Tenant(created.org.id, created.api_keys, "acct-fuzz", issued.token)


def _seed(world: World) -> None:
    """Real objects for the fuzzer to reach, made through the API as a client would."""
    tenant = world.tenant

    def api(method: str, path: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        response = world.call(method, f"{BASE}{path}", headers=headers, json=body or None)
        assert response.status_code in (200, 202), response.text
        return dict(response.json())

    def workflow(name: str) -> str:
        created = api("POST", "/workflow", tenant.bearer, name=name)
        return str(created["workflow"]["associated_workflow"])

    main = workflow("fuzzed")
    hook = {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "webhook"}}
    shape = {"id": "2", "type": "transform", "name": "Shape", "data": {"value": "{{ trigger }}"}}
    graph = {"nodes": [hook, shape], "edges": [{"source": "1", "target": "2"}]}
    api("PUT", f"/workflow/{main}/draft", tenant.bearer, **graph)
    api("PUT", f"/workflow/{main}/publish", tenant.bearer, published=True)
    hook_path = api("GET", f"/workflow/{main}", tenant.bearer)["webhook_path"]
    execution = api("POST", f"/workflow/{main}/execute", tenant.bearer, payload={})["execution_id"]
    api("POST", f"/execution/{execution}/cancel", tenant.bearer)  # finished: streams end
    url, events = "https://hooks.example.com/weft", ["Connection Expired"]
    webhook = api("POST", "/webhook", tenant.org_key, webhook_url=url, webhook_events=events)
    api("PUT", "/linked-account", tenant.org_key, linked_account_id="acct-spare")
    SEEDED.clear()
    SEEDED.update(
        workflow_id=main,
        version="1",
        node_id="2",
        execution_id=str(execution),
        secret=str(hook_path).rsplit("/", 1)[-1],
        slug="http",
        name="http.svg",
        linked_account_id="acct-spare",
        webhook_id=str(webhook.get("_id") or webhook.get("id")),
    )
    SPARE_FOR_DELETE.clear()
    SPARE_FOR_DELETE.update(workflow_id=workflow("doomed"), slug="slack")


@pytest.fixture(scope="module", params=DATABASES)
def fuzz_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    db_url = str(request.getfixturevalue(f"{request.param}_url"))
    loop = asyncio.new_event_loop()
    config = Settings(
        database_url=db_url,
        data_dir=tmp_path_factory.mktemp("fuzz"),
        workers=0,
        sync_timeout_s=0.25,
        # Thousands of calls by one tenant in a few seconds: the limits are tested elsewhere.
        **NO_RATE_LIMITS,
    )
    db = Database(db_url)
    app = create_app(config, db=db)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://weft.test")
    try:
        loop.run_until_complete(prepare_database(db))
        world = World(request.param, loop, client, loop.run_until_complete(_tenant(db)))
        _seed(world)
        yield world
        tried = {form: n for (database, form), n in TRIED.items() if database == request.param}
        print(f"\nSchemathesis on {request.param}: {sum(tried.values())} cases {tried}")
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(app_state(app).services.close())
        loop.run_until_complete(db.dispose())
        loop.close()


def _documented_page(case: Case, response: httpx.Response) -> bool:
    """An HTML error page the schema documents as such (the browser pages' own errors)."""
    documented = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    is_html = response.headers.get("content-type", "").startswith("text/html")
    return is_html and "text/html" in documented.get("content", {})


@schema.parametrize()
def test_every_route_keeps_its_documented_contract(case: Case, fuzz_world: World) -> None:
    response = fuzz_world.send(case)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400 and not _documented_page(case, response):
        assert_envelope(response, response.status_code)


# The stateful phase: Schemathesis follows the links the schema declares (api/openapi_links.py)
# from one answer's ids to the next call, so it creates a workflow, saves, publishes and runs
# it, reads, cancels and reruns the run, creates an account, a webhook or an MCP server and then
# uses it. A schema of its own: the seeded-ids hook above would replace the linked ids.
# Without a run's event stream: the fuzz world has no workers, so a stream of a run that never
# ends is open until its bound (the stateless test above calls it with seeded runs).
stateful_schema = schemathesis.openapi.from_dict(
    copy.deepcopy(DOCUMENT),
    config=SchemathesisConfig.from_dict({"generation": {"database": "none"}}),
).exclude(path_regex=r"/events$")
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 12
# "[200] LinkName" of every link the schema declares (Schemathesis infers others too).
DECLARED = {
    f"[{status}] {name}"
    for item in stateful_schema.raw_schema["paths"].values()
    for operation in item.values()
    if isinstance(operation, dict)
    for status, response in operation.get("responses", {}).items()
    for name in response.get("links", {})
}
# Links followed per database (`pytest -s` prints them).
FOLLOWED: Counter[tuple[str, str]] = Counter()


def _sendable_headers(case: Case) -> bool:
    """Whether an HTTP client could send the case's headers. A value a link takes from an answer
    (a linked account's id as `linked_account_id`) may hold a line break, a leading space or
    characters past Latin-1, which no client sends (Schemathesis itself cannot record it)."""
    for header in (case.headers or {}).items():
        try:
            requests.utils.check_header_validity(header)
            str(header[1]).encode("latin-1")
        except (requests.exceptions.InvalidHeader, UnicodeEncodeError):
            return False
    return True


def test_linked_call_sequences_keep_the_documented_contract(fuzz_world: World) -> None:
    machine = stateful_schema.as_state_machine()

    scenarios = 0

    class ThroughTheWorld(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            nonlocal scenarios
            scenarios += 1

        def step(self, input: Any) -> Any:
            if input.transition is not None:
                FOLLOWED[(fuzz_world.database, input.transition.id)] += 1
            return super().step(input)

        def call(self, case: Case, **kwargs: Any) -> Response:
            if not _sendable_headers(case):
                hypothesis.reject()
            response = fuzz_world.send(case)
            if response.status_code >= 400 and not _documented_page(case, response):
                assert_envelope(response, response.status_code)
            return Response.from_httpx(response, verify=False)

        def validate_response(self, response: Response, case: Case, *_: Any, **__: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    for _session in range(5):
        try:
            ThroughTheWorld.run(
                settings=hypothesis.settings(
                    max_examples=STATEFUL_SCENARIOS,
                    stateful_step_count=STATEFUL_STEPS,
                    deadline=None,
                    database=None,
                    # Generation only: a replay meets a server whose state the earlier
                    # scenarios changed, so shrinking would chase answers that moved.
                    phases=[hypothesis.Phase.generate],
                    suppress_health_check=list(hypothesis.HealthCheck),
                )
            )
        except hypothesis.errors.FlakyStrategyDefinition:
            # A scenario Hypothesis replayed drew differently because the server's state had
            # changed (a bundle now empty): Schemathesis' own runner starts a fresh session
            # then, and so does this test, until the scenarios are spent.
            if scenarios < STATEFUL_SCENARIOS:
                continue
        break
    followed = {link: n for (db, link), n in FOLLOWED.items() if db == fuzz_world.database}
    declared = {link: n for link, n in followed.items() if link.split(" -> ")[1] in DECLARED}
    print(
        f"\nstateful on {fuzz_world.database}: {scenarios} scenarios, "
        f"{sum(followed.values())} links followed, "
        f"{sum(declared.values())} of them declared: {declared}"
    )
    assert declared, "the stateful phase followed no declared link"
