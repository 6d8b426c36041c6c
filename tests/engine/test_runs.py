"""Running published workflows end to end: triggers, node types, errors, history."""

from __future__ import annotations

import uuid

import httpx
import pytest

from engine.flows import BASE, execute, finished, publish, run, step
from engine.sink import Sink
from graphs import MANUAL_START, edge, node
from support import Tenant, assert_envelope, wait_until
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sink() -> Sink:
    server = Sink()
    yield server
    server.close()


async def test_transform_runs_with_expressions_and_history_shows_every_step(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    shape = node(
        "2",
        "transform",
        "Shape",
        value={"double": "{{ trigger.n * 2 }}", "label": "n is {{ trigger.n }}"},
    )
    wf = await publish(client, tenant, [MANUAL_START, shape])
    done = await run(client, tenant, wf, {"n": 21})
    assert done["status"] == "COMPLETED", done
    assert done["output"] == {"double": 42, "label": "n is 21"}
    assert done["workflow_version"] == 1 and done["trigger"] == "execute"
    assert step(done, "1")["latest_output"] == {"n": 21}
    shaped = step(done, "2")
    assert shaped["node_status"] == "COMPLETED" and shaped["node_type"] == "transform"
    assert shaped["node_name"] == "Shape" and shaped["attempts_made"] == 1
    assert shaped["execution_time"] >= 0


async def test_sync_execution_answers_the_respond_nodes_return_value(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    respond = node("2", "respond", "Reply", status=201, body={"hello": "{{ trigger.who }}"})
    wf = await publish(client, tenant, [MANUAL_START, respond])
    answer = await execute(client, tenant, wf, {"who": "ada"}, sync_execution="true")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"hello": "ada"}
    done = await finished(client, tenant, answer.headers["x-execution-id"])
    assert done["return_value"] == {"hello": "ada"} and done["status"] == "COMPLETED"


async def test_condition_routes_to_the_matching_branch_only(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    nodes = [
        MANUAL_START,
        node("2", "condition", "Big", expression="trigger.n > 10"),
        node("3", "transform", "Yes", value="big"),
        node("4", "transform", "No", value="small"),
    ]
    edges = [edge("1", "2"), edge("2", "3", "true"), edge("2", "4", "false")]
    wf = await publish(client, tenant, nodes, edges)
    big = await run(client, tenant, wf, {"n": 50})
    small = await run(client, tenant, wf, {"n": 1})
    assert big["output"] == "big" and small["output"] == "small"
    assert {n["node_id"] for n in big["nodes"]} == {"1", "2", "3"}
    assert step(big, "2")["branch"] == "true"


async def test_switch_picks_the_first_true_case_else_default(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    nodes = [
        MANUAL_START,
        node(
            "2",
            "condition",
            "Route",
            cases=[
                {"name": "gold", "expression": "trigger.tier = 'gold'"},
                {"name": "any", "expression": "$exists(trigger.tier)"},
            ],
        ),
        node("3", "transform", "Gold", value="G"),
        node("4", "transform", "Any", value="A"),
        node("5", "transform", "Other", value="O"),
    ]
    edges = [
        edge("1", "2"),
        edge("2", "3", "gold"),
        edge("2", "4", "any"),
        edge("2", "5", "default"),
    ]
    wf = await publish(client, tenant, nodes, edges)
    outputs = [
        (await run(client, tenant, wf, p))["output"] for p in ({"tier": "gold"}, {"tier": "x"}, {})
    ]
    assert outputs == ["G", "A", "O"]


async def test_http_node_calls_the_service_and_exposes_its_answer(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    call = node(
        "2",
        "http",
        "Call",
        method="POST",
        url=sink.url + "/hook/{{ trigger.id }}",
        query={"q": "{{ trigger.id }}"},
        body={"id": "{{ trigger.id }}"},
    )
    use = node("3", "transform", "Use", value="{{ nodes.call.body.echo.id }}")
    wf = await publish(client, tenant, [MANUAL_START, call, use])
    done = await run(client, tenant, wf, {"id": 7})
    assert done["status"] == "COMPLETED", done
    assert done["output"] == 7
    assert step(done, "2")["latest_output"]["status"] == 200
    assert step(done, "2")["latest_output"]["body"]["query"] == "q=7"
    assert sink.calls["/hook/7"] >= 1


async def test_http_5xx_is_retried_by_policy_then_succeeds(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    call = node(
        "2",
        "http",
        "Flaky",
        url=f"{sink.url}/flaky/3/{uuid.uuid4().hex}",
        retry={"max_attempts": 4, "initial_s": 0.01, "max_s": 0.02},
    )
    wf = await publish(client, tenant, [MANUAL_START, call])
    done = await run(client, tenant, wf)
    assert done["status"] == "COMPLETED", done
    assert step(done, "2")["attempts_made"] == 3


async def test_http_4xx_is_not_retried_and_fails_the_run_naming_the_node(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    call = node(
        "2",
        "http",
        "Lookup",
        url=sink.url + "/status/404",
        retry={"max_attempts": 3, "initial_s": 0.01},
    )
    wf = await publish(client, tenant, [MANUAL_START, call])
    done = await run(client, tenant, wf)
    assert done["status"] == "FAILED"
    assert done["error"]["node_id"] == "2" and "404" in done["error"]["message"]
    assert step(done, "2")["attempts_made"] == 1 and step(done, "2")["node_status"] == "FAILED"


async def test_on_error_continue_and_error_branch(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    nodes = [
        MANUAL_START,
        node("2", "http", "Soft", url=sink.url + "/status/500", on_error="continue"),
        node("3", "http", "Hard", url=sink.url + "/status/400", on_error="error"),
        node("4", "transform", "Fine", value="not reached"),
        node("5", "transform", "Rescue", value="{{ nodes.hard.error.message }}"),
    ]
    edges = [edge("1", "2"), edge("2", "3"), edge("3", "4"), edge("3", "5", "error")]
    wf = await publish(client, tenant, nodes, edges)
    done = await run(client, tenant, wf)
    assert done["status"] == "COMPLETED", done
    assert "400" in done["output"]
    assert "error" in step(done, "2")["latest_output"]
    assert {n["node_id"] for n in done["nodes"]} == {"1", "2", "3", "5"}


async def test_blocked_private_address_fails_with_a_clear_error(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    call = node("2", "http", "Meta", url="http://169.254.169.254/latest/meta-data")
    wf = await publish(client, tenant, [MANUAL_START, call])
    done = await run(client, tenant, wf)
    assert done["status"] == "FAILED"
    assert "ask your administrator" in done["error"]["message"]
    assert "WEFT_" not in str(done)


async def test_expression_errors_name_the_node_and_field(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    bad = node("2", "transform", "Broken", value={"x": "{{ $number('abc') }}"})
    wf = await publish(client, tenant, [MANUAL_START, bad])
    done = await run(client, tenant, wf)
    assert done["status"] == "FAILED"
    message = done["error"]["message"]
    assert 'Node "Broken" (2)' in message and "value" in message


async def test_runaway_expression_is_stopped_by_its_time_limit(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    spin = node("2", "transform", "Spin", value="{{ ($f := function($x){ $f($x) }; $f(1)) }}")
    wf = await publish(client, tenant, [MANUAL_START, spin])
    done = await run(client, tenant, wf)
    assert done["status"] == "FAILED" and "too long" in done["error"]["message"]
    again = await run(client, tenant, await publish(client, tenant, [MANUAL_START]))
    assert again["status"] == "COMPLETED"


async def test_loop_runs_the_body_per_item_and_collects_outputs(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, sink: Sink
) -> None:
    nodes = [
        MANUAL_START,
        node("2", "loop", "Each", items="trigger.items", concurrency=3),
        node(
            "3",
            "http",
            "Post",
            method="POST",
            url=sink.url + "/item",
            body={"v": "{{ loop.item }}", "i": "{{ loop.index }}"},
        ),
        node("4", "transform", "Pick", value="{{ nodes.post.body.echo.v * 10 }}"),
        node("5", "transform", "After", value="{{ $sum(nodes.each) }}"),
    ]
    edges = [edge("1", "2"), edge("2", "3", "body"), edge("3", "4"), edge("2", "5")]
    wf = await publish(client, tenant, nodes, edges)
    done = await run(client, tenant, wf, {"items": [1, 2, 3, 4]})
    assert done["status"] == "COMPLETED", done
    assert step(done, "2")["latest_output"] == [10, 20, 30, 40]
    assert done["output"] == 100
    assert step(done, "4", "2")["latest_output"] == 30


async def test_a_hundred_pass_loop_shows_every_pass_with_its_output(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    nodes = [
        MANUAL_START,
        node("2", "loop", "Each", items="trigger.items"),
        node("3", "transform", "Label", value={"n": "{{ loop.item }}", "at": "{{ loop.index }}"}),
    ]
    edges = [edge("1", "2"), edge("2", "3", "body")]
    wf = await publish(client, tenant, nodes, edges)
    items = list(range(100, 200))
    done = await run(client, tenant, wf, {"items": items})
    assert done["status"] == "COMPLETED", done
    expected = [{"n": item, "at": index} for index, item in enumerate(items)]
    assert step(done, "2")["latest_output"] == expected
    passes = [s for s in done["nodes"] if s["node_id"] == "3"]
    assert sorted(int(s["iteration"]) for s in passes) == list(range(100))
    for shown in passes:
        assert shown["latest_output"] == expected[int(shown["iteration"])]
        assert shown["node_status"] == "COMPLETED"


async def test_end_node_stops_the_run_with_its_status(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    stop = node("2", "end", "Stop", status="failed", output={"why": "{{ trigger.why }}"})
    after = node("3", "transform", "Never", value=1)
    wf = await publish(client, tenant, [MANUAL_START, stop, after])
    done = await run(client, tenant, wf, {"why": "nope"})
    assert done["status"] == "FAILED" and done["output"] == {"why": "nope"}
    assert {n["node_id"] for n in done["nodes"]} == {"1", "2"}


async def test_unpublished_workflow_cannot_be_executed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(f"{BASE}/workflow", json={"name": "x"}, headers=tenant.bearer)
    wf = created.json()["workflow"]["associated_workflow"]
    response = await execute(client, tenant, wf, {})
    assert_envelope(response, 400, "WORKFLOW_NOT_PUBLISHED")


async def test_idempotency_key_returns_the_first_execution(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wf = await publish(client, tenant, [MANUAL_START])
    first = await execute(client, tenant, wf, {"a": 1}, **{"Idempotency-Key": "k-1"})
    again = await execute(client, tenant, wf, {"a": 1}, **{"Idempotency-Key": "k-1"})
    assert first.json()["execution_id"] == again.json()["execution_id"]
    other = await execute(client, tenant, wf, {"a": 2}, **{"Idempotency-Key": "k-1"})
    assert_envelope(other, 409, "IDEMPOTENCY_KEY_REUSED")
    fresh = await execute(client, tenant, wf, {"a": 1}, **{"Idempotency-Key": "k-2"})
    assert fresh.json()["execution_id"] != first.json()["execution_id"]


async def test_events_start_every_listening_workflow(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    listens = node("1", "start", "Start", trigger="event", event="lead.created")
    one = await publish(client, tenant, [listens, node("2", "transform", "A", value="a")])
    two = await publish(client, tenant, [listens, node("2", "transform", "B", value="b")])
    await publish(client, tenant, [MANUAL_START])
    fired = await client.post(
        f"{BASE}/event/trigger",
        json={"event": "lead.created", "payload": {"x": 1}},
        headers=tenant.bearer,
    )
    assert fired.status_code == 200, fired.text
    ids = fired.json()["execution_ids"]
    assert len(ids) == 2
    runs = [await finished(client, tenant, i) for i in ids]
    assert {r["workflow_id"] for r in runs} == {one, two}
    assert sorted(r["output"] for r in runs) == ["a", "b"]
    alias = await client.post(
        f"{BASE}/event", json={"event": "lead.created"}, headers=tenant.bearer
    )
    assert len(alias.json()["execution_ids"]) == 2
    none = await client.post(
        f"{BASE}/event/trigger", json={"event": "nobody"}, headers=tenant.bearer
    )
    assert_envelope(none, 404, "INVALID_EVENT")


async def test_cancel_stops_a_waiting_run(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wait = node("2", "delay", "Wait", seconds=3600)
    wf = await publish(
        client, tenant, [MANUAL_START, wait, node("3", "transform", "After", value=1)]
    )
    started = await execute(client, tenant, wf)
    execution_id = started.json()["execution_id"]

    async def waiting() -> bool:
        shown = await client.get(f"{BASE}/execution/{execution_id}", headers=tenant.bearer)
        return bool(shown.json()["status"] == "WAITING")

    await wait_until(waiting, what="the run waiting on its delay")
    cancelled = await client.post(f"{BASE}/execution/{execution_id}/cancel", headers=tenant.bearer)
    assert cancelled.json()["status"] == "CANCELLED"
    again = await client.post(f"{BASE}/execution/{execution_id}/cancel", headers=tenant.bearer)
    assert_envelope(again, 409, "EXECUTION_FINISHED")


async def test_short_delay_resumes_and_completes(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wait = node("2", "delay", "Wait", seconds=0.3)
    wf = await publish(
        client, tenant, [MANUAL_START, wait, node("3", "transform", "After", value=1)]
    )
    done = await run(client, tenant, wf)
    assert done["status"] == "COMPLETED" and done["output"] == 1
    # Claimed, parked, claimed again (a third claim is a lease lost on a loaded machine).
    assert done["attempt"] >= 2


async def test_executions_list_filters_and_paginates(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    good = await publish(client, tenant, [MANUAL_START])
    bad = await publish(client, tenant, [MANUAL_START, node("2", "end", "Fail", status="failed")])
    for _ in range(3):
        await run(client, tenant, good)
    await run(client, tenant, bad)
    listed = (await client.get(f"{BASE}/execution?limit=2", headers=tenant.bearer)).json()
    assert listed["totalDocs"] == 4 and listed["totalPages"] == 2
    completed = (
        await client.get(f"{BASE}/execution?status=COMPLETED", headers=tenant.bearer)
    ).json()
    assert completed["totalDocs"] == 3
    failed = (
        await client.get(f"{BASE}/execution?status=FAILED&workflow_id={bad}", headers=tenant.bearer)
    ).json()
    assert failed["totalDocs"] == 1 and failed["docs"][0]["workflow_id"] == bad
    everything = (await client.get(f"{BASE}/execution?status=All", headers=tenant.bearer)).json()
    assert everything["totalDocs"] == 4


async def test_rerun_starts_a_new_execution_with_the_same_input(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    wf = await publish(
        client, tenant, [MANUAL_START, node("2", "transform", "T", value="{{ trigger.v }}")]
    )
    first = await run(client, tenant, wf, {"v": "again"})
    rerun = await client.post(f"{BASE}/execution/{first['_id']}/rerun", headers=tenant.bearer)
    assert rerun.status_code == 200
    second = await finished(client, tenant, rerun.json()["_id"])
    assert second["_id"] != first["_id"] and second["output"] == "again"
    assert second["trigger"] == "rerun"


async def test_workflow_node_runs_a_sub_workflow_and_waits_for_it(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    child = await publish(
        client,
        tenant,
        [MANUAL_START, node("2", "transform", "Triple", value="{{ trigger.x * 3 }}")],
    )
    broken = await publish(
        client, tenant, [MANUAL_START, node("2", "end", "Fail", status="failed")]
    )
    parent_nodes = [
        MANUAL_START,
        node("2", "workflow", "Child", workflow_id=child, payload={"x": "{{ trigger.n }}"}),
        node("3", "transform", "Use", value="{{ nodes.child + 1 }}"),
    ]
    parent = await publish(client, tenant, parent_nodes)
    done = await run(client, tenant, parent, {"n": 5})
    assert done["status"] == "COMPLETED", done
    assert done["output"] == 16
    child_run = step(done, "2")["input"]["execution_id"]
    child_done = await finished(client, tenant, child_run)
    assert child_done["trigger"] == "workflow" and child_done["output"] == 15

    failing = [MANUAL_START, node("2", "workflow", "Child", workflow_id=broken, payload={})]
    failed = await run(client, tenant, await publish(client, tenant, failing))
    assert failed["status"] == "FAILED" and "Sub-workflow" in failed["error"]["message"]


async def test_code_node_runs_javascript_on_the_step_input(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    code = node("2", "code", "Score", source="const n = input.trigger.n; return {sq: n * n}")
    done = await run(client, tenant, await publish(client, tenant, [MANUAL_START, code]), {"n": 9})
    assert done["status"] == "COMPLETED", done
    assert done["output"] == {"sq": 81}


async def test_code_errors_fail_the_step_with_the_js_message(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    code = node("2", "code", "Boom", source="throw new Error('bad input ' + input.trigger.n)")
    done = await run(client, tenant, await publish(client, tenant, [MANUAL_START, code]), {"n": 1})
    assert done["status"] == "FAILED" and "bad input 1" in done["error"]["message"]


@pytest.mark.parametrize(
    "source",
    [
        "while (true) {}",
        "let a = []; while (true) a.push(new Array(1e6).fill(1))",
        "new Array(3e8).fill(1)",
    ],
    ids=["infinite-loop", "gradual-memory-bomb", "huge-allocation"],
)
async def test_runaway_code_fails_within_its_limits_and_the_worker_stays_healthy(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, source: str
) -> None:
    bad = node("2", "code", "Runaway", source=source, timeout_ms=300, memory_mb=32)
    done = await run(client, tenant, await publish(client, tenant, [MANUAL_START, bad]))
    assert done["status"] == "FAILED", done
    assert step(done, "2")["node_status"] == "FAILED"
    good = node("2", "code", "Fine", source="input.trigger.v + 1")
    after = await run(client, tenant, await publish(client, tenant, [MANUAL_START, good]), {"v": 1})
    assert after["status"] == "COMPLETED" and after["output"] == 2


async def test_condition_expression_errors_fail_the_run_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    check = node("2", "condition", "Check", expression="$number(trigger.word) > 1")
    done = await run(
        client, tenant, await publish(client, tenant, [MANUAL_START, check]), {"word": "x"}
    )
    assert done["status"] == "FAILED"
    assert 'Node "Check" (2), field expression' in done["error"]["message"]


async def test_loop_over_a_failing_expression_follows_on_error(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    nodes = [
        MANUAL_START,
        node("2", "loop", "Each", items="$error('no items')", on_error="continue"),
        node("3", "transform", "Body", value="{{ loop.item }}"),
        node("4", "transform", "After", value="{{ nodes.each.error.node_id }}"),
    ]
    edges = [edge("1", "2"), edge("2", "3", "body"), edge("2", "4")]
    done = await run(client, tenant, await publish(client, tenant, nodes, edges))
    assert done["status"] == "COMPLETED" and done["output"] == "2"
    assert "no items" in step(done, "2")["error"]["message"]


async def test_app_action_node_fails_clearly_when_the_app_is_not_connected(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine
) -> None:
    # Publish refuses a step whose app is not connected; a connection removed afterwards
    # fails the run with a clear message.
    connection = f"{BASE}/application/stripe/connection"
    key = {"credentials": {"api_key": "sk_test_removed_later"}}
    assert (await client.post(connection, json=key, headers=tenant.bearer)).status_code == 200
    params = {"customer": "cus_1"}
    action = node("2", "app_action", "Get", app="stripe", action="get_customer", params=params)
    workflow_id = await publish(client, tenant, [MANUAL_START, action])
    assert (await client.delete(connection, headers=tenant.bearer)).status_code == 200
    done = await run(client, tenant, workflow_id)
    assert done["status"] == "FAILED"
    assert done["error"]["message"] == "The linked account has not connected stripe"
