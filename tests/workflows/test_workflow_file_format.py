"""The workflow file's format, without a database: stable text, keys from names, what is
redacted and what is kept, and JSON paths of problems."""

from __future__ import annotations

import json

import pytest

from weft.workflows.files import (
    FileProblem,
    WorkflowFile,
    at,
    content,
    document,
    graph_problem,
    key_of_name,
    read_document,
    render,
)
from weft.workflows.graph import GraphProblem, GraphShapeError, normalize_graph

pytestmark = pytest.mark.unit

NODES = [
    {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
    {
        "id": "2",
        "type": "http",
        "name": "Call",
        "incoming_nodes": ["1"],
        "outgoing_nodes": [],
        "data": {
            "url": "https://api.example.test/x",
            "headers": {
                "Authorization": "Bearer {{ env.TOKEN }}",
                "X-Token": "abc",
                "Accept": "*/*",
            },
            "query": {"private": True, "api_key": ""},
        },
    },
]


def make(**changes: object) -> dict:
    fields = dict(
        name="Call out",
        description=None,
        app="custom",
        nodes=NODES,
        edges=[{"id": "e1-2", "source": "1", "target": "2"}],
        settings={"file_key": "call-out", "data_slots": []},
        key="call-out",
    )
    return document(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_text_is_stable_sorted_and_ends_with_a_newline() -> None:
    text = render(make())
    assert text == render(json.loads(text))
    assert text.endswith("}\n") and text.startswith('{\n  "app": "custom",\n')
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_literal_credentials_are_redacted_and_expressions_and_flags_kept() -> None:
    doc = make()
    data = doc["nodes"][1]["data"]
    assert data["headers"] == {
        "Authorization": "Bearer {{ env.TOKEN }}",
        "X-Token": "[redacted]",
        "Accept": "*/*",
    }
    assert data["query"] == {"private": True, "api_key": ""}, "not strings, or empty: kept"
    assert "incoming_nodes" not in doc["nodes"][1] and "outgoing_nodes" not in doc["nodes"][1]
    assert doc["settings"] == {"data_slots": []}, "the key lives at the top, once"
    assert doc["key"] == "call-out"


def test_a_redacted_value_is_a_problem_at_its_path() -> None:
    found = read_document(make())
    assert isinstance(found, WorkflowFile)
    assert [p.path for p in found.problems] == ['$.nodes[1].data.headers["X-Token"]']


def test_files_written_by_another_weft_version_say_the_same() -> None:
    older = {**make(), "weft_version": "0.0.9"}
    assert content(older) == content(make())


@pytest.mark.parametrize(
    ("name", "key"),
    [("Order sync", "order-sync"), ("  Lead → CRM (v2)!", "lead-crm-v2"), ("✓", "workflow")],
)
def test_keys_come_from_names(name: str, key: str) -> None:
    assert key_of_name(name) == key


def test_paths_quote_odd_keys() -> None:
    assert at("$", "nodes") == "$.nodes"
    assert at("$.nodes", 3) == "$.nodes[3]"
    assert at("$.x", "a b") == '$.x["a b"]'


def test_publish_problems_point_into_the_file() -> None:
    nodes = [{"id": "1"}, {"id": "7"}]
    data_field = GraphProblem("7", "cases[0].name", "INVALID_CONFIG", "bad")
    node_field = GraphProblem("7", "name", "DUPLICATE_NODE_NAME", "twice")
    whole = GraphProblem(None, None, "NO_START_NODE", "none")
    assert graph_problem(data_field, nodes) == FileProblem(
        "$.nodes[1].data.cases[0].name", "INVALID_CONFIG", "bad"
    )
    assert graph_problem(node_field, nodes).path == "$.nodes[1].name"
    assert graph_problem(whole, nodes).path == "$"


def test_a_file_with_a_template_section_is_refused_until_weft_knows_it() -> None:
    found = read_document({**make(), "template": {"category": "CRM"}})
    assert found == [
        FileProblem(
            "$.template", "UNKNOWN_FIELD", "unknown field 'template' (this Weft reads format 1)"
        )
    ]


def test_a_file_and_a_draft_find_the_same_shape_problems() -> None:
    nodes = [
        NODES[0],
        {"id": ["1"], "type": "end"},  # an unhashable id: a problem, never a crash
        {"id": "3", "type": "x" * 5000, "name": "Big"},
        {"id": "3", "type": "end", "name": "Again"},
        {"id": "4", "type": "end", "data": "not an object"},
    ]
    edges = [{"source": "1", "target": "9" * 5000}, {"source": "1", "target": "4"}]
    found = read_document({**make(), "nodes": nodes, "edges": edges})
    assert isinstance(found, list)
    assert [(p.path, p.code) for p in found] == [
        ("$.nodes[1].id", "INVALID_NODE"),
        ("$.nodes[2].type", "UNKNOWN_NODE_TYPE"),
        ("$.nodes[3].id", "DUPLICATE_NODE_ID"),
        ("$.nodes[4].data", "INVALID_NODE"),
        ("$.edges[0].target", "UNKNOWN_EDGE_ENDPOINT"),  # node 4 exists, if malformed
    ]
    with pytest.raises(GraphShapeError) as error:
        normalize_graph(nodes, edges)
    drafted = error.value.problems
    assert [(p.node_id, p.field, p.code) for p in drafted] == [
        (None, "id", "INVALID_NODE"),
        ("3", "type", "UNKNOWN_NODE_TYPE"),
        ("3", "id", "DUPLICATE_NODE_ID"),
        ("4", "data", "INVALID_NODE"),
        (None, "target", "UNKNOWN_EDGE_ENDPOINT"),
    ]
    assert [p.message for p in found][1:3] == [
        f"unknown node type {'x' * 100!r}",
        "another node has this id",
    ]
    assert drafted[1].message == f'Node "Big" (3): unknown node type {"x" * 100!r}'
    edge_id, target = "e1-" + "9" * 97, "9" * 100  # long ids are cut to 100 characters
    assert drafted[4].message == f'Edge "{edge_id}": target node "{target}" does not exist'
