"""OpenAPI links: which answer gives the id another operation takes (OpenAPI 3 `links`).

A client generator or a stateful fuzzer (Schemathesis' stateful phase) follows them: create a
workflow, then read, edit, publish and run that workflow; start a run, then read, cancel and
rerun it; create a linked account, a webhook or an MCP server, then use it. Declared here by
method and path, and written into the schema by operationId once the schema is built.
"""

from __future__ import annotations

from typing import Any

P = "/api/v2/public"
_CREATED_WORKFLOW = "$response.body#/workflow/associated_workflow"
_SAME_WORKFLOW = "$request.path.workflow_id"
_OF_WORKFLOW = f"{P}/workflow/{{workflow_id}}"
_OF_EXECUTION = f"{P}/execution/{{execution_id}}"
_OF_SERVER = f"{P}/mcp-servers/{{mcp_server_id}}"
_OF_ACCOUNT = f"{P}/linked-account/{{linked_account_id}}"

# What a workflow's id leads to (the operations that take `workflow_id` alone).
_WORKFLOW_OPERATIONS = [
    ("get", _OF_WORKFLOW),
    ("patch", _OF_WORKFLOW),
    ("get", f"{_OF_WORKFLOW}/edit"),
    ("put", f"{_OF_WORKFLOW}/draft"),
    ("put", f"{_OF_WORKFLOW}/publish"),
    ("post", f"{_OF_WORKFLOW}/execute"),
    ("post", f"{_OF_WORKFLOW}/test"),
    ("post", f"{_OF_WORKFLOW}/expression/preview"),
    ("post", f"{_OF_WORKFLOW}/draft/replay"),
    ("get", f"{P}/workflow/versions/{{workflow_id}}"),
    ("get", f"{P}/workflow/request-structure/{{workflow_id}}"),
    ("delete", f"{_OF_WORKFLOW}/draft"),
    ("delete", _OF_WORKFLOW),
]
# What a run's id leads to. The event stream is left out: on a run still going it streams
# until the run ends, so a link to it from a run just started would hold a client that long.
_EXECUTION_OPERATIONS = [
    ("get", _OF_EXECUTION),
    ("post", f"{_OF_EXECUTION}/cancel"),
    ("post", f"{_OF_EXECUTION}/rerun"),
]
_SERVER_OPERATIONS = [
    ("get", _OF_SERVER),
    ("put", _OF_SERVER),
    ("post", f"{_OF_SERVER}/token"),
    ("get", f"{_OF_SERVER}/logs"),
    ("delete", _OF_SERVER),
]
_ACCOUNT_OPERATIONS = [("get", _OF_ACCOUNT), ("delete", _OF_ACCOUNT)]


def _to(operations: list[tuple[str, str]], parameter: str, value: str) -> list[Any]:
    return [(method, path, {parameter: value}) for method, path in operations]


# (method, path) of a source operation -> [(method, path, {parameter: runtime expression})].
LINKS: dict[tuple[str, str], list[Any]] = {
    ("post", f"{P}/workflow"): _to(_WORKFLOW_OPERATIONS, "workflow_id", _CREATED_WORKFLOW),
    # The same workflow again, so a chain can save, then publish, then run it.
    ("put", f"{_OF_WORKFLOW}/draft"): _to(_WORKFLOW_OPERATIONS, "workflow_id", _SAME_WORKFLOW),
    ("put", f"{_OF_WORKFLOW}/publish"): [
        *_to(_WORKFLOW_OPERATIONS, "workflow_id", _SAME_WORKFLOW),
        (
            "get",
            f"{_OF_WORKFLOW}/versions/{{version}}",
            {"workflow_id": _SAME_WORKFLOW, "version": "$response.body#/current_version"},
        ),
    ],
    ("post", f"{_OF_WORKFLOW}/execute"): _to(
        _EXECUTION_OPERATIONS, "execution_id", "$response.body#/execution_id"
    ),
    ("post", f"{_OF_EXECUTION}/rerun"): _to(
        _EXECUTION_OPERATIONS, "execution_id", "$response.body#/execution_id"
    ),
    # A cancelled run has ended: its stream answers at once.
    ("post", f"{_OF_EXECUTION}/cancel"): [
        ("get", f"{_OF_EXECUTION}/events", {"execution_id": "$response.body#/_id"})
    ],
    ("post", f"{_OF_WORKFLOW}/draft/replay"): [
        (
            "get",
            f"{_OF_WORKFLOW}/draft/replay/{{replay_id}}",
            {"workflow_id": _SAME_WORKFLOW, "replay_id": "$response.body#/id"},
        )
    ],
    ("post", f"{P}/linked-account"): _to(
        _ACCOUNT_OPERATIONS, "linked_account_id", "$response.body#/linked_account_id"
    ),
    ("put", f"{P}/linked-account"): _to(
        _ACCOUNT_OPERATIONS, "linked_account_id", "$response.body#/linked_account_id"
    ),
    ("post", f"{P}/webhook"): [
        ("delete", f"{P}/webhook/{{webhook_id}}", {"webhook_id": "$response.body#/_id"})
    ],
    ("post", f"{P}/mcp-servers"): _to(_SERVER_OPERATIONS, "mcp_server_id", "$response.body#/_id"),
}


def _link_name(method: str, path: str) -> str:
    words = [part.strip("{}") for part in path.removeprefix(P).split("/") if part]
    return "".join(word.replace("-", "_").title().replace("_", "") for word in [method, *words])


def add_links(schema: dict[str, Any]) -> None:
    """Write LINKS into `schema`'s success responses (by operationId). A link whose operation
    the schema lacks is a bug in this table, so it raises."""
    paths = schema["paths"]
    for (method, path), targets in LINKS.items():
        responses = paths[path][method]["responses"]
        success = next(status for status in ("200", "201", "202") if status in responses)
        links = responses[success].setdefault("links", {})
        for target_method, target_path, parameters in targets:
            links[_link_name(target_method, target_path)] = {
                "operationId": paths[target_path][target_method]["operationId"],
                "parameters": parameters,
            }
