"""The import graph of `src/weft` obeys the layer order of docs/architecture.md.

Every module is parsed (nothing is imported): all its imports count, those inside functions
included, except those under `if TYPE_CHECKING:` (no runtime dependency). Checked:
- no import cycle among modules;
- no import from a lower layer into a higher one, nor between two packages of one layer;
- nothing below `api` imports FastAPI or Starlette.
A package is the first name under `weft` (`weft.engine.runs.lease` is in `engine`), so moving
modules into sub-packages changes nothing here; cycles are found between modules.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from source_trees import parsed

pytestmark = pytest.mark.unit

SOURCE = Path(__file__).resolve().parents[1] / "src" / "weft"

# Highest first, as docs/architecture.md states them. A package may import only packages of
# lower layers; packages sharing a layer are independent of each other. `weft` is the root
# package's own `__init__` (the version).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__", "migrations"),  # entry points: `python -m weft`, Alembic's revisions
    ("cli",),
    ("app",),
    ("web",),  # the editor page, served with api's dependencies
    ("api",),  # HTTP: the only packages (with those above) that may import FastAPI
    ("engine",),
    ("apps",),
    ("tenancy",),
    ("workflows", "notifications"),
    ("nodes",),
    ("expressions", "sandbox", "net", "observability", "crypto"),
    ("store",),
    ("settings", "clock", "ids", "errors", "redaction", "weft"),
)
HTTP_LAYER = LAYERS.index(("api",))  # the lowest layer that may import FastAPI
WEB_FRAMEWORKS = {"fastapi", "starlette"}


@dataclass(frozen=True)
class Import:
    """One import of module `source` at `line`: another weft module, or an outside package."""

    source: str
    line: int
    target: str  # a weft module's dotted name, or an outside package's top-level name
    internal: bool


def _module_names() -> dict[str, Path]:
    names = {}
    for path in SOURCE.rglob("*.py"):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = _module_names()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement except those only type checkers see."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                yield from _runtime_imports(ast.Module(body=[branch], type_ignores=[]))
        else:
            yield from _runtime_imports(node)


def _weft_module(dotted: str) -> str | None:
    """The weft module `dotted` names, or its longest prefix that is one (`import a.b.c`)."""
    while dotted:
        if dotted in MODULES:
            return dotted
        dotted = dotted.rpartition(".")[0]
    return None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, bool]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            found = _weft_module(alias.name)
            yield (found, True) if found else (alias.name.split(".")[0], False)
        return
    if node.level:  # relative: resolved against the importing module's package
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        named = f"{base}.{node.module}" if node.module else base
    else:
        named = node.module or ""
    if _weft_module(named) is None:
        yield named.split(".")[0], False
        return
    for alias in node.names:
        # `from weft.engine import states` depends on the module `states`, not on the package.
        submodule = f"{named}.{alias.name}"
        yield (submodule if submodule in MODULES else _weft_module(named) or named), True


def _imports() -> list[Import]:
    found: dict[Import, None] = {}  # ordered, once each (`from a import b, c` is one import)
    for module, path in MODULES.items():
        tree = parsed(path)
        for node in _runtime_imports(tree):
            for target, internal in _targets(module, node):
                if target != module:
                    found[Import(module, node.lineno, target, internal)] = None
    return list(found)


IMPORTS = _imports()


def package_of(module: str) -> str:
    """`engine` for `weft.engine.runs.lease`; `weft` for the root package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _layer_of(package: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if package in layer:
            return rank
    raise AssertionError(
        f"package {package!r} is in no layer: place it in docs/architecture.md and LAYERS"
    )


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _path_round(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One circle through the component's first module, for the failure message."""
    start = component[0]
    members = set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges.get(node, set()) & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    return component


def test_no_module_imports_another_in_a_circle() -> None:
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for item in IMPORTS:
        if item.internal:
            edges[item.source].add(item.target)
    circles = [" → ".join(_path_round(component, edges)) for component in _cycles(edges)]
    assert circles == [], "import circles:\n" + "\n".join(circles)


def test_no_import_runs_back_up_the_layers() -> None:
    wrong = []
    for item in IMPORTS:
        if not item.internal:
            continue
        source, target = package_of(item.source), package_of(item.target)
        if source != target and _layer_of(source) >= _layer_of(target):
            wrong.append(f"{item.source}:{item.line} imports {item.target}")
    assert wrong == [], "imports against the layer order of docs/architecture.md:\n" + "\n".join(
        wrong
    )


def test_nothing_below_the_api_imports_the_web_framework() -> None:
    wrong = [
        f"{item.source}:{item.line} imports {item.target}"
        for item in IMPORTS
        if not item.internal
        and item.target in WEB_FRAMEWORKS
        and _layer_of(package_of(item.source)) > HTTP_LAYER
    ]
    assert wrong == []


def test_the_checks_see_every_kind_of_import() -> None:
    """The parser finds late imports in function bodies and skips TYPE_CHECKING-only ones."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from weft.engine import runner\n"
        "def later():\n"
        "    from weft.engine.starts.triggers import execution_row\n"
        "    from . import states\n"
    )
    found = [
        target
        for node in _runtime_imports(tree)
        for target, internal in _targets("weft.engine.runs.lifecycle", node)
        if internal
    ]
    assert found == ["weft.engine.starts.triggers", "weft.engine.runs.states"]


def test_the_documented_order_is_the_one_checked() -> None:
    """docs/architecture.md's layer table names the packages of LAYERS, in the same order."""
    docs = SOURCE.parents[1] / "docs" / "architecture.md"
    table = docs.read_text().split("| layer | packages and modules |", 1)[1].split("\n\n", 1)[0]
    named = [name for name in re.findall(r"`([^`]+)`", table) if (SOURCE / name).exists()]
    named = [name.removesuffix("/").removesuffix(".py") for name in named]
    assert named == [package for layer in LAYERS for package in layer if package != "weft"]
