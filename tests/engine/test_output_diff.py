"""Field-level differences between a step's live output and its draft output."""

from __future__ import annotations

import pytest

from weft.engine.runs.output_diff import field_changes

pytestmark = pytest.mark.unit


def rows(old: object, new: object) -> list[tuple[str, str, object, object]]:
    return [(c.path, c.kind, c.old, c.new) for c in field_changes(old, new)]


def test_equal_values_have_no_changes() -> None:
    value = {"a": [1, {"b": None}], "c": "x"}
    assert rows(value, value) == []
    assert rows({"n": 1}, {"n": 1.0}) == []  # one JSON number


def test_objects_are_compared_field_by_field() -> None:
    old = {"name": "Ada", "age": 36, "gone": True}
    new = {"name": "Ada", "age": 37, "new": [1]}
    assert rows(old, new) == [
        ("$.age", "changed", 36, 37),
        ("$.gone", "removed", True, None),
        ("$.new", "added", None, [1]),
    ]


def test_lists_are_compared_item_by_item() -> None:
    assert rows([1, 2, 3], [1, 5]) == [("$[1]", "changed", 2, 5), ("$[2]", "removed", 3, None)]
    assert rows({"l": []}, {"l": [{"x": 1}]}) == [("$.l[0]", "added", None, {"x": 1})]


def test_types_that_differ_are_a_change() -> None:
    assert rows(True, 1) == [("$", "changed", True, 1)]
    assert rows({"a": {"b": 1}}, {"a": [1]}) == [("$.a", "changed", {"b": 1}, [1])]
    assert rows(None, {}) == [("$", "changed", None, {})]


def test_keys_that_are_not_plain_names_are_quoted() -> None:
    assert rows({"a b": 1, "x.y": 2}, {"a b": 2, "x.y": 2}) == [("$['a b']", "changed", 1, 2)]
