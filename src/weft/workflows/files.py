"""Workflows as files: the document an export writes, its stable text, and reading one back.

A file holds what a workflow does and nothing that ties it to one installation: no database
ids (the graph's own node ids stay, since edges and expressions name them), no owner, no run
data and no connection (apps are named by slug; each account connects its own). A literal
credential (a credential-named value that is not an expression) is written as "[redacted]";
a changed file that still holds the marker is refused rather than storing it.

The text is stable so that a git diff shows only what changed: sorted keys, 2-space indent, a
trailing newline; lists keep their order. `format_version` changes only when an older Weft
could misread a file; optional sections (a `template` one is planned) may be added within a
version, and a Weft that does not know one refuses the file instead of dropping it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from weft import __version__
from weft.redaction import REDACTED, is_credential_name
from weft.workflows.graph import GraphProblem, ShapeFinding, check_shape
from weft.workflows.records import MAX_NAME_LENGTH

FORMAT_VERSION = 1
# Where a workflow keeps the key its file is named by, once a file has set it (the settings of
# each version: no column needed, and it travels with the graph).
FILE_KEY_SETTING = "file_key"
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
# Top-level fields a file may hold. An optional section (a `template` one is planned: the
# template's metadata beside the graph it starts from) is one more name here, one more field of
# `WorkflowFile` and its handling on import; older files stay valid, so format_version stays 1.
FIELDS = ("format_version", "weft_version", "key", "name", "description", "app")
GRAPH_FIELDS = ("nodes", "edges", "settings")
NODE_FIELDS = ("id", "type", "name", "position", "data")
MAX_NODES, MAX_EDGES, MAX_DESCRIPTION = 500, 2000, 5000
# Problems a draft may have: an account connects its own apps after the import.
DRAFT_ONLY = frozenset({"CONNECTION_REQUIRED", "CONNECTION_EXPIRED"})


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong with a file, at a JSON path (`$.nodes[2].data.url`)."""

    path: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """The problem as the API lists it under `errors`."""
        return asdict(self)


@dataclass
class WorkflowFile:
    """A file's contents once its shape is known to be right."""

    name: str
    app: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    settings: dict[str, Any]
    description: str | None = None
    key: str | None = None
    problems: list[FileProblem] = field(default_factory=list)


def key_of_name(name: str) -> str:
    """A file key derived from a workflow's name: `Order sync` -> `order-sync`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100].strip("-") or "workflow"


def document(
    *,
    name: str,
    description: str | None,
    app: str,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    settings: dict[str, Any] | None,
    key: str | None,
) -> dict[str, Any]:
    """The file of one workflow version: secrets redacted, derived node fields left out."""
    shown = {k: v for k, v in (settings or {}).items() if k != FILE_KEY_SETTING}
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "weft_version": __version__,
        "name": name,
        "description": description,
        "app": app,
        "nodes": [_file_node(node) for node in nodes],
        "edges": [_redacted(edge) for edge in edges],
        "settings": _redacted(shown),
    }
    if key is not None:
        doc["key"] = key
    return doc


def _file_node(node: dict[str, Any]) -> dict[str, Any]:
    # incoming_nodes/outgoing_nodes repeat the edges: an import derives them again.
    return _redacted({k: node[k] for k in NODE_FIELDS if k in node})


def render(doc: dict[str, Any]) -> str:
    """The file's text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def content(doc: dict[str, Any]) -> dict[str, Any]:
    """What two files must share to describe the same workflow (not who wrote them)."""
    return {k: v for k, v in doc.items() if k not in ("weft_version", "format_version")}


def _redacted(value: Any) -> Any:
    """`value` with literal credentials replaced; expressions (`{{ env.token }}`) are kept."""
    if isinstance(value, dict):
        return {
            k: REDACTED
            if is_credential_name(str(k)) and isinstance(v, str) and v and "{{" not in v
            else _redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def at(path: str, key: str | int) -> str:
    """`path` one step further: `$.nodes` + 2 -> `$.nodes[2]`, + `data` -> `$.nodes.data`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def read_document(raw: Any) -> WorkflowFile | list[FileProblem]:
    """A file's contents, or every problem of its shape (each with its JSON path)."""
    if not isinstance(raw, dict):
        return [
            FileProblem(
                "$", "INVALID_FILE", "a workflow file is a JSON object (sent as application/json)"
            )
        ]
    problems: list[FileProblem] = []
    for name in raw:
        if name not in FIELDS + GRAPH_FIELDS:
            detail = f"unknown field {str(name)[:100]!r} (this Weft reads format {FORMAT_VERSION})"
            problems.append(FileProblem(at("$", str(name)), "UNKNOWN_FIELD", detail))
    version = raw.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        detail = f"format_version must be {FORMAT_VERSION} (got {str(version)[:40]})"
        problems.append(FileProblem("$.format_version", "UNSUPPORTED_FORMAT", detail))
    name = _text(raw, "name", MAX_NAME_LENGTH, problems, required=True)
    description = _text(raw, "description", MAX_DESCRIPTION, problems, required=False)
    app = _text(raw, "app", 100, problems, required=True)
    key = raw.get("key")
    if key is not None and not (isinstance(key, str) and KEY.match(key)):
        detail = "key must be lower-case letters, digits and dashes (at most 100)"
        problems.append(FileProblem("$.key", "INVALID_KEY", detail))
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        problems.append(FileProblem("$.settings", "INVALID_FIELD", "settings is an object"))
    nodes = _list(raw, "nodes", MAX_NODES, problems)
    edges = _list(raw, "edges", MAX_EDGES, problems)
    problems += [_shape_problem(finding) for finding in check_shape(nodes, edges).findings]
    if problems:
        return problems
    return WorkflowFile(
        name=str(name).strip(),
        description=description,
        app=str(app),
        nodes=nodes,
        edges=edges,
        settings=settings,
        key=key,
        problems=redacted_values(raw),
    )


def _text(
    raw: dict[str, Any], name: str, limit: int, problems: list[FileProblem], *, required: bool
) -> str | None:
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        need = "is required: a" if required and value is None else "must be a"
        detail = f"{name} {need} non-empty string of at most {limit} characters"
        problems.append(FileProblem(at("$", name), "INVALID_FIELD", detail))
        return None
    return value


def _list(raw: dict[str, Any], name: str, limit: int, problems: list[FileProblem]) -> list[Any]:
    value = raw.get(name)
    if not isinstance(value, list) or len(value) > limit:
        detail = f"{name} must be a list of at most {limit} items"
        problems.append(FileProblem(at("$", name), "INVALID_FIELD", detail))
        return []
    return value


def _shape_problem(finding: ShapeFinding) -> FileProblem:
    """A node or edge shape finding at its path: `$.nodes[2].type`."""
    path = at(f"$.{finding.item}s", finding.index)
    for part in finding.loc:
        path = at(path, part)
    return FileProblem(path, finding.code, finding.detail)


def redacted_values(raw: Any) -> list[FileProblem]:
    """Every "[redacted]" marker a file still holds: an import would store the marker."""
    found: list[FileProblem] = []
    stack: list[tuple[str, Any]] = [("$", raw)]
    while stack:  # no recursion: a hostile file may nest deeply
        path, value = stack.pop()
        if isinstance(value, dict):
            stack += [(at(path, str(k)), v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(at(path, i), v) for i, v in enumerate(value)]
        elif value == REDACTED:
            detail = (
                "a secret was left out of this file: put the value back, or better, read it "
                "from a connection or an expression ({{ env.NAME }})"
            )
            found.append(FileProblem(path, "REDACTED_VALUE", detail))
    return sorted(found, key=lambda problem: problem.path)


def graph_problem(problem: GraphProblem, nodes: list[dict[str, Any]]) -> FileProblem:
    """A publish check's problem at its path in the file."""
    index = next((i for i, n in enumerate(nodes) if n.get("id") == problem.node_id), None)
    if index is None:
        return FileProblem("$.nodes" if problem.node_id else "$", problem.code, problem.message)
    path = at("$.nodes", index)
    where = problem.field
    if where in (None, ""):
        return FileProblem(path, problem.code, problem.message)
    if where in NODE_FIELDS:
        return FileProblem(at(path, where), problem.code, problem.message)
    # A field inside data: `url`, `params.channel`, `cases[0].name`.
    return FileProblem(f"{path}.data.{where}", problem.code, problem.message)
