"""Node type names are decided on only inside `weft.nodes`: everything else asks the registry.

The scan looks at how code outside `src/weft/nodes/` *decides* by a registered type name, in
the shapes such a decision takes:
- a comparison (`==`, `!=`, `in`, `not in`, also against a literal collection) between a type
  name and a type-holding expression: `x.type`, `x.node_type`, a name `type`/`*_type`, or
  `x.get("type")`; or such a name given a type name (`LOOP_TYPE = "loop"`);
- a literal collection (set, list, tuple, frozenset) or dict whose string items/keys are all
  type names (a per-type table), two or more of them;
- a lookup of a type name in a module-level table (`TABLE["http"]`, `TABLE.get("http")`);
- a call of a registry function that takes a type name (its first parameter is `node_type`).
A graph written out as data (`{"type": "transform", ...}` in the demo) decides nothing and is
not flagged; nor is an ASGI `scope["type"] == "http"`, which is not a node type.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import weft
import weft.nodes
import weft.nodes.catalog
from source_trees import parsed
from weft.nodes import KINDS

pytestmark = pytest.mark.unit

SOURCE = Path(weft.__file__).parent
NODES = SOURCE / "nodes"
TYPE_NAMES = frozenset(KINDS)


def _registry_lookups() -> frozenset[str]:
    """Functions of the registry whose first parameter is a node type name."""
    names = set()
    for module in (weft.nodes, weft.nodes.catalog):
        for name, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__.startswith("weft.nodes"):
                parameters = list(inspect.signature(value).parameters)
                if parameters[:1] == ["node_type"]:
                    names.add(name)
    return frozenset(names)


REGISTRY_LOOKUPS = _registry_lookups()


def _type_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if node.value in TYPE_NAMES else None
    return None


def _holds_a_type(node: ast.AST) -> bool:
    """`x.type`, `x.node_type`, `type`, `node_type`, `x.get("type")`."""
    if isinstance(node, ast.Attribute):
        return node.attr == "type" or node.attr.endswith("_type")
    if isinstance(node, ast.Name):
        return node.id.lower() == "type" or node.id.lower().endswith("_type")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        first = node.args[0] if node.args else None
        return node.func.attr == "get" and isinstance(first, ast.Constant) and first.value == "type"
    return False


def _is_table(node: ast.AST) -> bool:
    """A module-level constant table: an ALL_CAPS name or attribute."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return len(name) > 1 and name.isupper()


def _items(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        return list(node.elts)
    return [node]


def _all_type_names(values: list[ast.AST | None]) -> bool:
    strings = [v for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return len(strings) >= 2 and len(strings) == len(values) and all(map(_type_name, strings))


def type_name_decisions(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) for every decision by a literal type name in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_holds_a_type(operand) for operand in operands):
                for operand in operands:
                    for item in _items(operand):
                        if name := _type_name(item):
                            yield node.lineno, f"compares a type with {name!r}"
        elif isinstance(node, ast.Assign | ast.AnnAssign) and _type_name(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_holds_a_type(target) for target in targets):
                yield node.lineno, f"names the type {_type_name(node.value)!r} outside its module"
        elif isinstance(node, ast.Set | ast.List | ast.Tuple) and _all_type_names(node.elts):
            yield node.lineno, "a collection of type names"
        elif isinstance(node, ast.Dict) and _all_type_names(list(node.keys)):
            yield node.lineno, "a table keyed by type names"
        elif isinstance(node, ast.Subscript) and _is_table(node.value):
            if name := _type_name(node.slice):
                yield node.lineno, f"looks {name!r} up in a table"
        elif isinstance(node, ast.Call):
            func = node.func
            callee = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            table_get = callee == "get" and _is_table(getattr(func, "value", None))
            if callee in REGISTRY_LOOKUPS or table_get:
                for argument in node.args[:1]:
                    if name := _type_name(argument):
                        yield node.lineno, f"asks {callee}() about {name!r}"


def _scan(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(NODES) or "migrations" in path.parts:
            continue
        tree = parsed(path)
        found += [
            f"{path.relative_to(root)}:{line}: {what}" for line, what in type_name_decisions(tree)
        ]
    return found


def test_no_code_outside_nodes_decides_by_a_type_name() -> None:
    assert _scan(SOURCE) == []


@pytest.mark.parametrize(
    "source",
    [
        'if node.type == "loop": pass',
        'if "respond" != node.type: pass',
        'if n.get("type") in ("start", "end"): pass',
        'if node_type in {"http"}: pass',
        'UNPINNABLE = frozenset({"start", "condition"})',
        'RULES = {"http": 1, "app_action": 2}',
        'x = RUNNERS["http"]',
        'x = KINDS.get("delay")',
        'x = kind_of("workflow")',
        'x = parse_node_config("transform", {})',
        'LOOP_TYPE = "loop"',
    ],
)
def test_the_scan_finds_each_shape_of_decision(source: str) -> None:
    assert list(type_name_decisions(ast.parse(source)))


@pytest.mark.parametrize(
    "source",
    [
        'if scope["type"] != "http": pass',
        'if parsed.scheme not in ("http", "https"): pass',
        'data = {"trigger": 1, "nodes": {}, "loop": None}',
        'node = {"id": "1", "type": "start"}',
        'settings = {**old, "ai": 1}',
        'value = (org.settings or {}).get("ai", {})',
    ],
)
def test_the_scan_leaves_other_meanings_alone(source: str) -> None:
    assert list(type_name_decisions(ast.parse(source))) == []
