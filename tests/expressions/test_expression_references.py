import pytest

from weft.expressions import ExpressionSyntaxError, referenced_nodes

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("nodes.fetch_user.body.id", {"fetch_user"}),
        ("$count(nodes.list_items.body)", {"list_items"}),
        ("nodes.a.x + nodes.b.y", {"a", "b"}),
        ("nodes.ok ? nodes.yes : nodes.no", {"ok", "yes", "no"}),
        ('{"id": nodes.user.id, "all": [nodes.x1, nodes.x2]}', {"user", "x1", "x2"}),
        ("$map(nodes.items.body, function($v) { $v & nodes.suffix })", {"items", "suffix"}),
        ("nodes.list[0].id", {"list"}),
        ("(nodes.wrapped).field", {"wrapped"}),
        ("nodes.`with space`.x", {"with space"}),
        ("$$.nodes.root.x", {"root"}),
        ("$.nodes.here", {"here"}),
        ("items[id = $$.nodes.lookup.id]", {"lookup"}),
        ("x ~> $string(nodes.piped)", {"piped"}),
    ],
)
def test_references_are_found(source, expected):
    assert referenced_nodes(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "nodes[0]",
        "nodes[0].x",
        "$nodes",
        "$nodes.a",
        "nodes",
        "trigger.nodes.a",
        "loop.item.nodes.a",
        "1 + 2",
        '"nodes.a"',
    ],
)
def test_non_references_are_ignored(source):
    assert referenced_nodes(source) == set()


def test_nodes_field_inside_a_filter_is_relative_to_the_item():
    # GraphQL answers often hold `nodes` lists; inside a filter, `nodes` is the item's field.
    assert referenced_nodes("nodes.gql.body.items[nodes.count > 0]") == {"gql"}


def test_reference_extraction_reports_bad_syntax():
    with pytest.raises(ExpressionSyntaxError):
        referenced_nodes("nodes.a +")
