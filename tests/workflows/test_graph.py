import pytest

from weft.workflows.graph import (
    GraphShapeError,
    branch_targets,
    loop_body_nodes,
    normalize_graph,
    slugify_name,
    upstream_nodes,
)
from weft.workflows.validation import validate_for_publish

pytestmark = pytest.mark.unit


def node(node_id, node_type, name=None, data=None, **extra):
    found = {"id": node_id, "type": node_type, "data": data, **extra}
    if name is not None:
        found["name"] = name
    return found


def edge(source, target, handle=None, **extra):
    return {"source": source, "target": target, "sourceHandle": handle, **extra}


START = node("1", "start", "Start")


def codes(problems):
    return sorted(problem.code for problem in problems)


def publish_problems(nodes, edges):
    return validate_for_publish(normalize_graph(nodes, edges))


def shape_problems(nodes, edges):
    with pytest.raises(GraphShapeError) as error:
        normalize_graph(nodes, edges)
    return error.value.problems


# normalize_graph


def test_edges_derived_from_outgoing_nodes_when_edges_absent():
    graph = normalize_graph(
        [
            {**START, "outgoing_nodes": ["2"]},
            node("2", "transform", "A", {"value": 1}, outgoing_nodes=["3"]),
            node("3", "end", "Done", {}, incoming_nodes=["2"]),
        ],
        None,
    )
    assert [(e.id, e.source, e.target) for e in graph.edges] == [
        ("e1-2", "1", "2"),
        ("e2-3", "2", "3"),
    ]


def test_in_and_out_lists_are_recomputed_from_edges():
    graph = normalize_graph(
        [{**START, "outgoing_nodes": ["9"]}, node("2", "end", "Done", {}, incoming_nodes=["7"])],
        [edge("1", "2")],
    )
    start, done = graph.nodes
    assert (start.incoming_nodes, start.outgoing_nodes) == ([], ["2"])
    assert (done.incoming_nodes, done.outgoing_nodes) == (["1"], [])


def test_edge_id_is_derived_with_handle():
    graph = normalize_graph(
        [START, node("2", "condition", "If", {"expression": "1"}), node("3", "end", "E", {})],
        [edge("1", "2"), edge("2", "3", "true"), {"id": "", "source": "2", "target": "3"}],
    )
    assert [e.id for e in graph.edges] == ["e1-2", "e2-3-true", "e2-3"]


def test_extra_fields_are_preserved_in_json():
    graph = normalize_graph(
        [{**START, "position": {"x": 0, "y": 120}, "selected": True}],
        [],
    )
    dumped = graph.nodes_json()[0]
    assert dumped["selected"] is True
    assert dumped["position"] == {"x": 0, "y": 120}
    graph = normalize_graph(
        [START, node("2", "end", "E", {})], [{**edge("1", "2"), "animated": True}]
    )
    assert graph.edges_json() == [
        {
            "id": "e1-2",
            "source": "1",
            "target": "2",
            "sourceHandle": None,
            "targetHandle": None,
            "animated": True,
        }
    ]


def test_missing_name_is_derived():
    graph = normalize_graph([{"id": "1", "type": "start"}, {"id": "2", "type": "app_action"}], [])
    assert [n.name for n in graph.nodes] == ["Start", "App action 2"]


def test_incomplete_draft_is_still_saveable():
    graph = normalize_graph(
        [START, node("2", "http", "Fetch", {"url": "{{ broken"}), node("3", "loop", "L", None)],
        [],
    )
    assert len(graph.nodes) == 3


def test_shape_problems_are_all_reported():
    problems = shape_problems(
        [
            START,
            {"type": "http"},
            node("1", "end", "Again", {}),
            node("3", "ftp", "Upload", {}),
            "not a node",
        ],
        [edge("1", "9"), {"id": "x", "source": "1", "target": "3"}, {"id": "x", **edge("3", "1")}],
    )
    assert codes(problems) == [
        "DUPLICATE_EDGE_ID",
        "DUPLICATE_NODE_ID",
        "INVALID_NODE",
        "INVALID_NODE",
        "UNKNOWN_EDGE_ENDPOINT",
        "UNKNOWN_NODE_TYPE",
    ]
    assert any(p.field == "id" and p.message == "Node #2: id: Field required" for p in problems)
    assert any(p.field == "target" and '"9" does not exist' in p.message for p in problems)


def test_outgoing_nodes_naming_a_missing_node_is_a_shape_error():
    problems = shape_problems([{**START, "outgoing_nodes": ["2"]}], None)
    assert codes(problems) == ["UNKNOWN_EDGE_ENDPOINT"]


def test_data_must_be_an_object():
    problems = shape_problems([node("1", "start", "Start", "manual")], [])
    assert [(p.node_id, p.field, p.code) for p in problems] == [("1", "data", "INVALID_NODE")]


# helpers


def test_slugify_name():
    assert slugify_name("Fetch user") == "fetch_user"
    assert slugify_name("  Send e-mail (v2)!! ") == "send_e_mail_v2"
    assert slugify_name("already_slugged__name") == "already_slugged_name"
    assert slugify_name("Café Ölçer") == "café_ölçer"
    assert slugify_name("!!!") == ""


def loop_graph():
    nodes = [
        START,
        node("2", "loop", "Each", {"items": "trigger.items"}),
        node("3", "http", "Post item", {"url": "https://x.test/{{ loop.item.id }}"}),
        node("4", "transform", "Mark", {"value": "{{ nodes.post_item.status }}"}),
        node("5", "end", "Done", {"output": "{{ nodes.each }}"}),
    ]
    edges = [edge("1", "2"), edge("2", "3", "body"), edge("3", "4"), edge("4", "2"), edge("2", "5")]
    return nodes, edges


def test_loop_body_nodes_and_branch_targets():
    graph = normalize_graph(*loop_graph())
    assert loop_body_nodes(graph, "2") == {"3", "4"}
    assert branch_targets(graph, "2", "body") == ["3"]
    assert branch_targets(graph, "2", None) == ["5"]
    assert branch_targets(graph, "5", None) == []


def test_upstream_ignores_loop_back_edge():
    graph = normalize_graph(*loop_graph())
    assert upstream_nodes(graph, "4") == {"1", "2", "3"}
    assert upstream_nodes(graph, "5") == {"1", "2"}


# validate_for_publish


def test_valid_graph_has_no_problems():
    nodes = [
        node("1", "start", "Start", {"trigger": "event", "event": "user.created"}),
        node("2", "http", "Fetch user", {"url": "https://x.test/u/{{ trigger.id }}"}),
        node("3", "condition", "Is admin", {"expression": "nodes.fetch_user.body.admin"}),
        node("4", "respond", "Yes", {"body": "{{ nodes.fetch_user.body }}"}),
        node("5", "end", "No", {"output": "{{ $count(nodes.fetch_user.body.roles) }}"}),
    ]
    edges = [edge("1", "2"), edge("2", "3"), edge("3", "4", "true"), edge("3", "5", "false")]
    assert publish_problems(nodes, edges) == []


def test_loop_with_back_edge_is_valid():
    assert publish_problems(*loop_graph()) == []


def test_publish_rejects_missing_start_node():
    problems = publish_problems([node("2", "end", "Done", {})], [])
    assert [(p.node_id, p.code) for p in problems] == [(None, "NO_START_NODE")]
    assert problems[0].message == "The workflow has no start node"


def test_publish_rejects_two_start_nodes():
    problems = publish_problems([START, node("2", "start", "Other start")], [])
    assert [(p.node_id, p.code) for p in problems] == [
        ("1", "MULTIPLE_START_NODES"),
        ("2", "MULTIPLE_START_NODES"),
    ]
    assert "exactly one start node, this one has 2 (1, 2)" in problems[0].message


def test_publish_rejects_edge_into_start():
    nodes = [START, node("2", "end", "Done", {})]
    problems = publish_problems(nodes, [edge("1", "2"), edge("2", "1")])
    assert "START_NODE_HAS_INCOMING" in codes(problems)


def test_publish_rejects_cycle_outside_loop():
    nodes = [
        START,
        node("2", "transform", "A", {"value": 1}),
        node("3", "transform", "B", {"value": 2}),
    ]
    problems = publish_problems(nodes, [edge("1", "2"), edge("2", "3"), edge("3", "2")])
    assert codes(problems) == ["CYCLE"]
    assert problems[0].node_id == "3"
    assert problems[0].message.startswith('Node "B" (3): cycle "A" -> "B" -> "A"')


def test_publish_rejects_edge_back_to_loop_from_outside_its_body():
    nodes, edges = loop_graph()
    edges.append(edge("5", "2"))
    problems = publish_problems(nodes, edges)
    assert "CYCLE" in codes(problems)


def test_nested_loops_may_each_loop_back():
    nodes = [
        START,
        node("2", "loop", "Outer", {"items": "trigger.rows"}),
        node("3", "loop", "Inner", {"items": "loop.item.cells"}),
        node("4", "transform", "Cell", {"value": "{{ loop.item }}"}),
    ]
    edges = [
        edge("1", "2"),
        edge("2", "3", "body"),
        edge("3", "4", "body"),
        edge("4", "3"),
        edge("3", "2"),
    ]
    assert publish_problems(nodes, edges) == []


def test_publish_rejects_unreachable_node():
    problems = publish_problems([START, node("2", "end", "Lost", {})], [])
    assert [(p.node_id, p.code) for p in problems] == [("2", "UNREACHABLE_NODE")]
    assert problems[0].message == 'Node "Lost" (2): not reachable from the start node'


def test_invalid_data_gives_one_problem_per_field():
    nodes = [START, node("2", "code", "Run", {"timeout_ms": 0, "memory_mb": 1024})]
    problems = publish_problems(nodes, [edge("1", "2")])
    assert sorted(p.field for p in problems) == ["memory_mb", "source", "timeout_ms"]
    assert {p.code for p in problems} == {"INVALID_CONFIG"}
    assert 'Node "Run" (2): source: Field required' in [p.message for p in problems]


def test_missing_data_on_a_non_start_node_is_reported():
    problems = publish_problems([START, node("2", "http", "Fetch")], [edge("1", "2")])
    assert [(p.field, p.code) for p in problems] == [("url", "INVALID_CONFIG")]


def test_expression_syntax_error_names_node_and_field():
    nodes = [
        START,
        node("2", "http", "Fetch", {"url": "https://x.test", "body": {"a": "{{ trigger.( }}"}}),
        node("3", "condition", "Check", {"expression": "1 +"}),
        node("4", "end", "Done", {"output": "{{ unterminated"}),
    ]
    problems = publish_problems(nodes, [edge("1", "2"), edge("2", "3"), edge("3", "4", "true")])
    assert [(p.node_id, p.field, p.code) for p in problems] == [
        ("2", "body.a", "EXPRESSION_SYNTAX"),
        ("3", "expression", "EXPRESSION_SYNTAX"),
        ("4", "output", "EXPRESSION_SYNTAX"),
    ]
    assert problems[1].message.startswith('Node "Check" (3): expression: Invalid expression')


def test_reference_to_unknown_node_is_rejected():
    nodes = [START, node("2", "transform", "Shape", {"value": "{{ nodes.fetch_usr.body }}"})]
    problems = publish_problems(nodes, [edge("1", "2")])
    assert [(p.field, p.code) for p in problems] == [("value", "UNKNOWN_NODE_REFERENCE")]
    assert '"nodes.fetch_usr" names no node' in problems[0].message


def test_reference_to_downstream_node_is_rejected():
    nodes = [
        START,
        node("2", "transform", "First", {"value": "{{ nodes.second }}"}),
        node("3", "transform", "Second", {"value": 1}),
    ]
    problems = publish_problems(nodes, [edge("1", "2"), edge("2", "3")])
    assert [(p.node_id, p.code) for p in problems] == [("2", "REFERENCE_NOT_UPSTREAM")]


def test_reference_to_other_branch_is_rejected():
    nodes = [
        START,
        node("2", "condition", "If", {"expression": "trigger.ok"}),
        node("3", "transform", "Yes", {"value": 1}),
        node("4", "transform", "No", {"value": "{{ nodes.yes }}"}),
    ]
    edges = [edge("1", "2"), edge("2", "3", "true"), edge("2", "4", "false")]
    assert codes(publish_problems(nodes, edges)) == ["REFERENCE_NOT_UPSTREAM"]


def test_reference_to_self_is_rejected():
    nodes = [START, node("2", "transform", "Me", {"value": "{{ nodes.me }}"})]
    assert codes(publish_problems(nodes, [edge("1", "2")])) == ["REFERENCE_NOT_UPSTREAM"]


def test_loop_body_may_not_read_its_own_loop_output():
    nodes, edges = loop_graph()
    nodes[3] = node("4", "transform", "Mark", {"value": "{{ nodes.each }}"})
    problems = publish_problems(nodes, edges)
    assert [(p.node_id, p.code) for p in problems] == [("4", "REFERENCE_NOT_UPSTREAM")]
    assert "loop around this node" in problems[0].message


def test_publish_rejects_duplicate_names():
    nodes = [
        START,
        node("2", "transform", "Fetch user", {"value": 1}),
        node("3", "transform", "fetch-user", {"value": 2}),
    ]
    problems = publish_problems(nodes, [edge("1", "2"), edge("2", "3")])
    assert [(p.node_id, p.code) for p in problems] == [
        ("2", "DUPLICATE_NODE_NAME"),
        ("3", "DUPLICATE_NODE_NAME"),
    ]


def test_name_without_letters_is_rejected():
    problems = publish_problems([START, node("2", "end", "???", {})], [edge("1", "2")])
    assert [(p.field, p.code) for p in problems] == [("name", "INVALID_NODE_NAME")]


def test_condition_edges_must_use_its_branches():
    nodes = [
        START,
        node("2", "condition", "If", {"expression": "1"}),
        node("3", "end", "A", {}),
        node("4", "end", "B", {}),
    ]
    edges = [edge("1", "2"), edge("2", "3", "true"), edge("2", "4")]
    problems = publish_problems(nodes, edges)
    assert [(p.node_id, p.code) for p in problems] == [("2", "INVALID_HANDLE")]
    assert 'edge "e2-4" leaves by branch "(none)"' in problems[0].message


def test_switch_edges_use_case_names_and_default():
    cases = [{"name": "eu", "expression": "trigger.region = 'eu'"}]
    nodes = [
        START,
        node("2", "condition", "Region", {"cases": cases}),
        node("3", "end", "EU", {}),
        node("4", "end", "Other", {}),
        node("5", "end", "Typo", {}),
    ]
    edges = [edge("1", "2"), edge("2", "3", "eu"), edge("2", "4", "default"), edge("2", "5", "us")]
    problems = publish_problems(nodes, edges)
    assert [(p.node_id, p.code) for p in problems] == [("2", "INVALID_HANDLE")]


def test_plain_node_may_not_use_branch_handles():
    nodes = [START, node("2", "end", "Done", {})]
    assert codes(publish_problems(nodes, [edge("1", "2", "true")])) == ["INVALID_HANDLE"]


def test_error_edge_needs_on_error_error_and_vice_versa():
    nodes = [
        START,
        node("2", "http", "Fetch", {"url": "https://x.test", "on_error": "error"}),
        node("3", "http", "Other", {"url": "https://y.test"}),
        node("4", "end", "Failed", {"status": "failed"}),
    ]
    problems = publish_problems(nodes, [edge("1", "2"), edge("2", "3"), edge("3", "4", "error")])
    assert [(p.node_id, p.field, p.code) for p in problems] == [
        ("2", "on_error", "MISSING_ERROR_EDGE"),
        ("3", None, "INVALID_HANDLE"),
    ]


def test_error_edge_is_valid_with_on_error_error():
    nodes = [
        START,
        node("2", "http", "Fetch", {"url": "https://x.test", "on_error": "error"}),
        node("3", "end", "Failed", {"status": "failed", "output": "{{ nodes.fetch }}"}),
    ]
    assert publish_problems(nodes, [edge("1", "2"), edge("2", "3", "error")]) == []


def test_validation_lists_every_problem_at_once():
    nodes = [
        node("2", "http", "Fetch", {"method": "GRAB", "url": "{{ nodes.done.x }}"}),
        node("3", "transform", "Later", {"value": "{{ 1 + }}"}),
        node("4", "transform", "Later", {"value": "{{ nodes.ghost }}"}),
        node("5", "condition", "Route", {"expression": "true"}),
        node("6", "end", "Done", {}),
    ]
    edges = [edge("2", "3"), edge("3", "2"), edge("5", "6")]
    problems = publish_problems(nodes, edges)
    assert codes(problems) == [
        "CYCLE",
        "DUPLICATE_NODE_NAME",
        "DUPLICATE_NODE_NAME",
        "EXPRESSION_SYNTAX",
        "INVALID_CONFIG",
        "INVALID_HANDLE",
        "NO_START_NODE",
        "REFERENCE_NOT_UPSTREAM",
        "UNKNOWN_NODE_REFERENCE",
    ]
    # Graph-wide problems come first, then node by node in listed order.
    assert problems[0].code == "NO_START_NODE"
    assert [p.node_id for p in problems[1:]] == sorted(p.node_id for p in problems[1:])


def test_problem_serialises_to_dict():
    problem = publish_problems([START, node("2", "end", "Lost", {})], [])[0]
    assert problem.to_dict() == {
        "node_id": "2",
        "field": None,
        "code": "UNREACHABLE_NODE",
        "message": 'Node "Lost" (2): not reachable from the start node',
    }


def test_edges_derived_from_incoming_nodes_alone():
    graph = normalize_graph([START, node("2", "end", "Done", {}, incoming_nodes=["1"])], None)
    assert [(e.source, e.target) for e in graph.edges] == [("1", "2")]
    assert graph.nodes[0].outgoing_nodes == ["2"]


def test_empty_edge_list_means_no_edges():
    graph = normalize_graph([{**START, "outgoing_nodes": ["2"]}, node("2", "end", "E", {})], [])
    assert graph.edges == []
    assert graph.nodes[0].outgoing_nodes == []


def test_branches_are_checked_even_when_data_is_invalid():
    cases = [{"name": "a", "expression": "1"}, {"name": "a", "expression": "2"}]
    nodes = [START, node("2", "condition", "Pick", {"cases": cases}), node("3", "end", "E", {})]
    problems = publish_problems(nodes, [edge("1", "2"), edge("2", "3", "b")])
    assert [(p.field, p.code) for p in problems] == [
        (None, "INVALID_HANDLE"),
        ("cases[1].name", "INVALID_CONFIG"),
    ]
