import pytest

from weft.nodes import NODE_TYPES, NodeConfigError, parse_node_config

pytestmark = pytest.mark.unit


def problems(node_type, data):
    with pytest.raises(NodeConfigError) as error:
        parse_node_config(node_type, data)
    return dict(error.value.problems())


# start


def test_start_without_data_is_a_manual_trigger():
    config = parse_node_config("start", None)
    assert config.trigger == "manual"


def test_start_event_trigger_needs_event_name():
    assert problems("start", {"trigger": "event"}) == {
        "event": "an event trigger needs the event name"
    }
    assert parse_node_config("start", {"trigger": "event", "event": "lead.created"}).event


def test_start_webhook_trigger_may_be_synchronous():
    assert parse_node_config("start", {"trigger": "webhook", "sync": True}).sync is True


def test_start_schedule_accepts_cron_and_timezone():
    data = {"trigger": "schedule", "cron": "*/15 9-17 * * MON-FRI", "timezone": "Europe/Paris"}
    assert parse_node_config("start", data).timezone == "Europe/Paris"


def test_start_schedule_needs_cron():
    assert problems("start", {"trigger": "schedule"}) == {
        "cron": "a schedule trigger needs a cron expression"
    }


@pytest.mark.parametrize("cron", ["* * * *", "0 0 * * * *", "61 * * * *", "every day"])
def test_start_schedule_rejects_bad_cron(cron):
    assert "cron" in problems("start", {"trigger": "schedule", "cron": cron})


def test_start_rejects_unknown_timezone_and_bad_cron_together():
    found = problems("start", {"trigger": "schedule", "cron": "* *", "timezone": "Mars/Base"})
    assert set(found) == {"cron", "timezone"}
    assert "Mars/Base" in found["timezone"]


def test_start_keeps_sample_payload_untouched():
    data = {"sample_payload": {"text": "{{ not an expression"}}
    config = parse_node_config("start", data)
    assert config.sample_payload == {"text": "{{ not an expression"}
    assert NODE_TYPES["start"].scan_expressions(data).problems == []


# http


def test_http_defaults_to_get_and_upper_cases_method():
    assert parse_node_config("http", {"url": "https://x.test"}).method == "GET"
    assert parse_node_config("http", {"url": "https://x.test", "method": "post"}).method == "POST"


def test_http_rejects_unknown_method_and_empty_url():
    assert set(problems("http", {"url": "", "method": "FETCH"})) == {"url", "method"}


def test_http_accepts_connection_and_templates():
    config = parse_node_config(
        "http",
        {"url": "{{ env.base }}/x", "query": {"q": "{{ trigger.q }}"}, "connection": "hubspot"},
    )
    assert config.connection == "hubspot"
    assert ("query.q", "trigger.q") in config.expressions()


# app_action


def test_app_action_needs_an_action_and_defaults_to_the_workflows_app():
    config = parse_node_config("app_action", {"app": "slack", "action": "send", "params": {}})
    assert (config.app, config.action) == ("slack", "send")
    assert set(problems("app_action", {"params": {"a": 1}})) == {"action"}
    assert parse_node_config("app_action", {"action": "send"}).app is None


def test_app_action_params_are_templates():
    config = parse_node_config(
        "app_action", {"app": "slack", "action": "send", "params": {"text": "{{ trigger.t }}"}}
    )
    assert config.expressions() == [("params.text", "trigger.t")]


# transform


def test_transform_value_may_be_any_json():
    assert parse_node_config("transform", {"value": [1, {"a": None}]}).value == [1, {"a": None}]
    assert parse_node_config("transform", {"value": None}).value is None


def test_transform_needs_value():
    assert problems("transform", {}) == {"value": "Field required"}


# condition


def test_condition_if_else_expression():
    config = parse_node_config("condition", {"expression": "trigger.amount > 100"})
    assert config.expression == "trigger.amount > 100"
    assert NODE_TYPES["condition"].allowed_handles({"expression": "x"}) == {"true", "false"}


def test_condition_switch_cases_and_handles():
    data = {"cases": [{"name": "eu", "expression": "x = 'eu'"}, {"name": "us", "expression": "1"}]}
    assert [case.name for case in parse_node_config("condition", data).cases] == ["eu", "us"]
    assert NODE_TYPES["condition"].allowed_handles(data) == {"eu", "us", "default"}


def test_condition_needs_exactly_one_form():
    message = "give exactly one of expression (if/else) or cases (switch)"
    assert problems("condition", {}) == {"expression": message}
    both = {"expression": "x", "cases": [{"name": "a", "expression": "y"}]}
    assert problems("condition", both) == {"expression": message}


def test_condition_switch_rejects_empty_duplicate_and_reserved_cases():
    assert problems("condition", {"cases": []}) == {"cases": "a switch needs at least one case"}
    dup = {"cases": [{"name": "a", "expression": "1"}, {"name": "a", "expression": "2"}]}
    assert problems("condition", dup) == {"cases[1].name": "case name 'a' is used twice"}
    reserved = {"cases": [{"name": "default", "expression": "1"}]}
    assert problems("condition", reserved) == {"cases[0].name": "case name 'default' is reserved"}


def test_condition_case_needs_name_and_expression():
    assert set(problems("condition", {"cases": [{"name": ""}]})) == {
        "cases[0].name",
        "cases[0].expression",
    }


# loop


def test_loop_items_and_concurrency():
    config = parse_node_config("loop", {"items": "nodes.list.body", "concurrency": 10})
    assert (config.items, config.concurrency) == ("nodes.list.body", 10)
    assert parse_node_config("loop", {"items": "[1,2]"}).concurrency == 1


def test_loop_concurrency_is_bounded():
    assert "concurrency" in problems("loop", {"items": "x", "concurrency": 0})
    assert "concurrency" in problems("loop", {"items": "x", "concurrency": 51})


def test_loop_handles_are_body_and_plain():
    assert NODE_TYPES["loop"].allowed_handles({}) == {"body", None}


# delay


def test_delay_seconds_or_until():
    assert parse_node_config("delay", {"seconds": 0}).seconds == 0
    assert parse_node_config("delay", {"until": "2030-01-01T09:00:00Z"}).until
    assert parse_node_config("delay", {"until": "{{ trigger.when }}"}).expressions() == [
        ("until", "trigger.when")
    ]


def test_delay_needs_exactly_one_of_seconds_or_until():
    message = "give exactly one of seconds or until"
    assert problems("delay", {}) == {"seconds": message}
    assert problems("delay", {"seconds": 5, "until": "2030-01-01T00:00:00Z"}) == {
        "seconds": message
    }


def test_delay_rejects_negative_too_long_and_non_iso():
    assert "seconds" in problems("delay", {"seconds": -1})
    assert "seconds" in problems("delay", {"seconds": 366 * 24 * 3600})
    assert problems("delay", {"until": "next tuesday"}) == {
        "until": "'next tuesday' is not an ISO 8601 time"
    }


# code


def test_code_defaults_and_limits():
    config = parse_node_config("code", {"source": "return input.trigger.x * 2"})
    assert (config.timeout_ms, config.memory_mb) == (1000, 64)
    found = problems("code", {"source": "", "timeout_ms": 30_001, "memory_mb": 4})
    assert set(found) == {"source", "timeout_ms", "memory_mb"}


# respond


def test_respond_defaults_and_status_range():
    config = parse_node_config("respond", {"body": "{{ nodes.shape }}"})
    assert (config.status, config.headers) == (200, {})
    assert "status" in problems("respond", {"status": 99})
    assert "status" in problems("respond", {"status": 600})


# workflow


def test_workflow_needs_a_24_hex_id():
    config = parse_node_config("workflow", {"workflow_id": "69ce2736ebade1cc4309e79e"})
    assert config.payload is None
    assert problems("workflow", {"workflow_id": "69CE2736"}) == {
        "workflow_id": "'69CE2736' is not a workflow id (24 hex characters)"
    }


# ai


def test_ai_json_flag_round_trips_under_its_data_name():
    config = parse_node_config("ai", {"prompt": "Summarise {{ trigger.text }}", "json": True})
    assert config.json_mode is True
    assert config.model_dump(by_alias=True)["json"] is True
    assert config.expressions() == [("prompt", "trigger.text")]


def test_ai_needs_prompt():
    assert problems("ai", {"system": "be brief"}) == {"prompt": "Field required"}


# end


def test_end_status_and_output():
    config = parse_node_config("end", {"status": "failed", "output": {"why": "{{ trigger.r }}"}})
    assert config.status == "failed"
    assert config.expressions() == [("output.why", "trigger.r")]
    assert "status" in problems("end", {"status": "done"})


def test_condition_handles_tolerate_malformed_cases():
    data = {"cases": [{"name": ["x"]}, "junk", {"name": "ok"}], "on_error": "error"}
    assert NODE_TYPES["condition"].allowed_handles(data) == {"ok", "default", "error"}
