"""No code outside `store/` asks which database it runs on: it asks the dialect object."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import weft
from source_trees import parsed

pytestmark = pytest.mark.unit

SOURCE = Path(weft.__file__).parent
# The store owns the differences; migrations are frozen history (never edited after landing).
ALLOWED = ("store", "migrations")
DIALECT_NAMES = {"sqlite", "postgresql", "postgres"}
DIALECT_CLASSES = {"SQLiteDialect", "PostgresDialect"}


def _names_a_dialect(node: ast.expr) -> bool:
    """A dialect's name as a literal, or an expression that reads one (`x.dialect`,
    `x.dialect.name`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value in DIALECT_NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_names_a_dialect(element) for element in node.elts)
    if isinstance(node, ast.Attribute):
        if node.attr == "dialect":
            return True
        return node.attr == "name" and _names_a_dialect(node.value)
    return isinstance(node, ast.Name) and node.id == "dialect"


def _is_isinstance(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "isinstance"
        and len(node.args) == 2
    )


def dialect_branches(tree: ast.AST) -> list[int]:
    """Lines comparing dialect names, or asking which dialect class an object is."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            if any(_names_a_dialect(side) for side in (node.left, *node.comparators)):
                lines.append(node.lineno)
        elif _is_isinstance(node):
            classes = ast.walk(node.args[1])  # type: ignore[attr-defined]
            if any(isinstance(c, ast.Name) and c.id in DIALECT_CLASSES for c in classes):
                lines.append(node.lineno)
    return lines


def test_no_dialect_branch_outside_the_store() -> None:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        if relative.parts[0] in ALLOWED:
            continue
        for line in dialect_branches(parsed(path)):
            found.append(f"{relative}:{line}")
    assert found == [], "ask db.dialect (weft.store.dialects) instead of comparing names"


@pytest.mark.parametrize(
    "code",
    [
        'if db.dialect == "postgresql": pass',
        'if session.bind.dialect.name != "sqlite": pass',
        'x = a if dialect.name in ("sqlite", "postgresql") else b',
        "if isinstance(db.dialect, PostgresDialect): pass",
    ],
)
def test_the_scan_sees_each_kind_of_branch(code: str) -> None:
    assert dialect_branches(ast.parse(code)) == [1]


def test_the_scan_lets_capabilities_and_other_names_through() -> None:
    code = 'if db.dialect.notifies: pass\nif kind == "sqlite_file": pass\nif name == "x": pass'
    assert dialect_branches(ast.parse(code)) == []
