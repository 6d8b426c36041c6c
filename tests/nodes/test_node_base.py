import pytest

from weft.nodes import (
    NODE_TYPES,
    NodeConfigError,
    RetryPolicy,
    UnknownNodeTypeError,
    format_errors,
    parse_node_config,
)

pytestmark = pytest.mark.unit


def problems(node_type, data):
    with pytest.raises(NodeConfigError) as error:
        parse_node_config(node_type, data)
    return dict(error.value.problems())


def test_registry_has_every_documented_type():
    assert set(NODE_TYPES) == {
        "start", "http", "app_action", "transform", "condition", "loop",
        "delay", "code", "respond", "workflow", "ai", "end", "mcp",
    }  # fmt: skip


def test_unknown_type_is_rejected():
    with pytest.raises(UnknownNodeTypeError, match="'ftp'"):
        parse_node_config("ftp", {})


def test_retry_policy_defaults():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff, policy.initial_s, policy.max_s) == (
        1, "exponential", 1.0, 60.0,
    )  # fmt: skip
    assert policy.jitter is True


def test_common_fields_are_accepted_on_every_type():
    data = {"url": "https://example.com", "retry": {"max_attempts": 5}, "timeout_s": 30}
    config = parse_node_config("http", {**data, "on_error": "continue"})
    assert config.retry is not None and config.retry.max_attempts == 5
    assert config.on_error == "continue"
    assert config.timeout_s == 30


def test_retry_attempts_are_bounded():
    assert "retry.max_attempts" in problems("code", {"source": "1", "retry": {"max_attempts": 21}})
    assert "retry.max_attempts" in problems("code", {"source": "1", "retry": {"max_attempts": 0}})


def test_retry_max_below_initial_is_rejected():
    found = problems("code", {"source": "1", "retry": {"initial_s": 10, "max_s": 5}})
    assert found == {"retry.max_s": "max_s must not be below initial_s"}


def test_timeout_and_on_error_are_checked():
    found = problems("code", {"source": "1", "timeout_s": 3601, "on_error": "ignore"})
    assert set(found) == {"timeout_s", "on_error"}
    assert "timeout_s" in problems("code", {"source": "1", "timeout_s": 0})


def test_unknown_field_is_rejected():
    assert problems("end", {"stauts": "failed"}) == {"stauts": "Extra inputs are not permitted"}


def test_missing_data_names_the_required_fields():
    assert problems("http", None) == {"url": "Field required"}
    assert problems("app_action", None) == {"action": "Field required"}


def test_missing_data_is_a_problem_even_without_required_fields():
    assert problems("end", None) == {"data": "Field required"}


def test_error_carries_pydantic_errors_and_readable_lines():
    with pytest.raises(NodeConfigError) as error:
        parse_node_config("loop", {"concurrency": 99})
    assert {e["type"] for e in error.value.errors} == {"missing", "less_than_equal"}
    assert sorted(format_errors(error.value.errors)) == [
        "concurrency: Input should be less than or equal to 50",
        "items: Field required",
    ]
    assert "Invalid loop node data" in str(error.value)


def test_expressions_lists_templates_in_nested_json():
    config = parse_node_config(
        "http",
        {
            "url": "https://api.test/users/{{ trigger.id }}",
            "headers": {"Authorization": "Bearer {{ env.token }}"},
            "body": {"items": [{"name": "{{ nodes.a.name }} and {{ nodes.b.name }}"}], "n": 1},
        },
    )
    assert config.expressions() == [
        ("url", "trigger.id"),
        ("headers.Authorization", "env.token"),
        ("body.items[0].name", "nodes.a.name"),
        ("body.items[0].name", "nodes.b.name"),
    ]


def test_expressions_lists_bare_expression_fields():
    config = parse_node_config(
        "condition",
        {"cases": [{"name": "big", "expression": "x > 10"}, {"name": "small", "expression": "x"}]},
    )
    assert config.expressions() == [("cases[0].expression", "x > 10"), ("cases[1].expression", "x")]
    assert parse_node_config("loop", {"items": "nodes.list.body"}).expressions() == [
        ("items", "nodes.list.body")
    ]


def test_code_source_is_never_read_as_an_expression():
    config = parse_node_config("code", {"source": "const s = `{{ not jsonata`; return s"})
    assert config.expressions() == []


def test_scan_reports_unterminated_templates_without_raising():
    scan = NODE_TYPES["respond"].scan_expressions({"body": {"a": "{{ x }}", "b": "{{ y"}})
    assert scan.expressions == [("body.a", "x")]
    assert [path for path, _ in scan.problems] == ["body.b"]
