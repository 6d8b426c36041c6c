"""The benchmarked workflows, as Weft graphs and as n8n workflow files, meaning the same thing.

- five-step: webhook (sync) -> transform -> condition -> code -> http POST to a local sink ->
  respond with a value built from the sink's answer and the trigger;
- trivial: webhook (sync) -> respond;
- chain: webhook (sync) -> 50 transforms, each reading the previous one -> respond, to price
  one step (CPU per execution minus the trivial workflow's, divided by 50);
- mapping (expression-heavy): webhook (sync) -> one transform with six realistic mappings
  (filter, order, map with string functions, sum, distinct) over the 50 records the caller
  sends (RECORDS) -> respond;
- loop (loop-heavy): webhook (sync) -> a loop over the 20 items the caller sends (LOOP_ITEMS),
  an expression per item -> a sum of the passes -> respond;
- subworkflow: webhook (sync) -> a loop over the 3 records the caller sends (SUB_RECORDS) that
  runs a child workflow once per record (the child shapes one record into a card) -> respond
  with the cards and their total. The child is published first (WEFT_CHILDREN, N8N_CHILDREN).

Each workflow's request body is `{"n": <counter>}` plus BODIES[workflow].
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

CHAIN_LENGTH = 50

_STATUSES = ("active", "trial", "active", "closed", "active")
# Fixed, so every system and round maps the same data.
RECORDS = [
    {
        "id": i,
        "name": f"Customer {i:02d}",
        "email": f"Customer.{i:02d}@Example.COM",
        "amount": (i * 37) % 1000 + 0.5,
        "status": _STATUSES[i % len(_STATUSES)],
        "tags": [f"t{i % 7}", f"t{i % 3}"],
    }
    for i in range(1, 51)
]
LOOP_ITEMS = [{"v": i, "name": f"item {i}"} for i in range(1, 21)]
SUB_RECORDS = RECORDS[:3]
BODIES: dict[str, dict[str, Any]] = {
    "mapping": {"records": RECORDS},
    "loop": {"items": LOOP_ITEMS},
    "subworkflow": {"records": SUB_RECORDS},
}


def _edges(ids: list[str]) -> list[dict[str, str]]:
    return [{"source": a, "target": b} for a, b in itertools.pairwise(ids)]


def _webhook_start() -> dict[str, Any]:
    return {
        "id": "1",
        "type": "start",
        "name": "Start",
        "data": {"trigger": "webhook", "sync": True},
    }


def weft_five_step(sink_url: str) -> dict[str, Any]:
    """Transform, condition, code, http, respond behind a sync webhook."""
    nodes = [
        _webhook_start(),
        {
            "id": "2",
            "type": "transform",
            "name": "Shape",
            "data": {"value": {"n": "{{ trigger.body.n }}", "double": "{{ trigger.body.n * 2 }}"}},
        },
        {
            "id": "3",
            "type": "condition",
            "name": "Even",
            "data": {"expression": "nodes.shape.n % 2 = 0"},
        },
        {
            "id": "4",
            "type": "code",
            "name": "Score",
            "data": {"source": "return input.nodes.shape.double + 1"},
        },
        {
            "id": "5",
            "type": "http",
            "name": "Call",
            "data": {"method": "POST", "url": sink_url, "body": {"score": "{{ nodes.score }}"}},
        },
        {
            "id": "6",
            "type": "respond",
            "name": "Reply",
            "data": {"body": {"score": "{{ nodes.call.body.score }}", "n": "{{ nodes.shape.n }}"}},
        },
    ]
    edges = [
        {"source": "1", "target": "2"},
        {"source": "2", "target": "3"},
        {"source": "3", "target": "4", "sourceHandle": "true"},
        {"source": "3", "target": "4", "sourceHandle": "false"},
        {"source": "4", "target": "5"},
        {"source": "5", "target": "6"},
    ]
    return {"nodes": nodes, "edges": edges}


def weft_trivial() -> dict[str, Any]:
    """A sync webhook answered at once by a respond node."""
    nodes = [
        _webhook_start(),
        {"id": "2", "type": "respond", "name": "Reply", "data": {"body": {"ok": True}}},
    ]
    return {"nodes": nodes, "edges": _edges(["1", "2"])}


def weft_chain() -> dict[str, Any]:
    """CHAIN_LENGTH transforms in a row, each copying the previous one's value."""
    nodes = [_webhook_start()]
    previous = "trigger.body"
    for index in range(1, CHAIN_LENGTH + 1):
        nodes.append(
            {
                "id": str(index + 1),
                "type": "transform",
                "name": f"T{index}",
                "data": {"value": {"n": f"{{{{ {previous}.n }}}}", "i": index}},
            }
        )
        previous = f"nodes.t{index}"
    last = str(CHAIN_LENGTH + 2)
    nodes.append(
        {
            "id": last,
            "type": "respond",
            "name": "Reply",
            "data": {"body": {"n": f"{{{{ {previous}.n }}}}"}},
        }
    )
    return {"nodes": nodes, "edges": _edges([n["id"] for n in nodes])}


def weft_mapping() -> dict[str, Any]:
    """Six JSONata mappings over the caller's 50 records, in one transform."""
    records = "trigger.body.records"
    mappings = {
        "n": "{{ trigger.body.n }}",
        "active": f'{{{{ $count({records}[status = "active"]) }}}}',
        "top": f'{{{{ {records}[status = "active"]^(>amount)[[0..4]].name }}}}',
        "labels": f'{{{{ {records}.($uppercase(name) & " <" & $lowercase(email) & ">") }}}}',
        "total": f"{{{{ $round($sum({records}.amount), 2) }}}}",
        "tags": f"{{{{ $distinct({records}.tags) }}}}",
    }
    nodes = [
        _webhook_start(),
        {"id": "2", "type": "transform", "name": "Map", "data": {"value": mappings}},
        {
            "id": "3",
            "type": "respond",
            "name": "Reply",
            "data": {
                "body": {
                    "n": "{{ nodes.map.n }}",
                    "total": "{{ nodes.map.total }}",
                    "top": "{{ nodes.map.top }}",
                }
            },
        },
    ]
    return {"nodes": nodes, "edges": _edges(["1", "2", "3"])}


def weft_loop() -> dict[str, Any]:
    """A loop over the caller's 20 items, an expression per pass, then their sum."""
    nodes = [
        _webhook_start(),
        {"id": "2", "type": "loop", "name": "Each", "data": {"items": "trigger.body.items"}},
        {
            "id": "3",
            "type": "transform",
            "name": "Score",
            "data": {
                "value": {
                    "score": "{{ $round($sqrt(loop.item.v) * 100) }}",
                    "label": "{{ $uppercase(loop.item.name) }}",
                }
            },
        },
        {
            "id": "4",
            "type": "respond",
            "name": "Reply",
            "data": {
                "body": {"total": "{{ $sum(nodes.each.score) }}", "n": "{{ trigger.body.n }}"}
            },
        },
    ]
    edges = [
        {"source": "1", "target": "2"},
        {"source": "2", "target": "3", "sourceHandle": "body"},
        {"source": "2", "target": "4"},
    ]
    return {"nodes": nodes, "edges": edges}


def weft_subworkflow_child() -> dict[str, Any]:
    """The child: one record (its payload) shaped into a card by one transform."""
    card = {
        "id": "{{ trigger.id }}",
        "label": '{{ $uppercase(trigger.name) & " <" & $lowercase(trigger.email) & ">" }}',
        "cents": "{{ $round(trigger.amount * 100) }}",
        "active": '{{ trigger.status = "active" }}',
    }
    nodes = [
        {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
        {"id": "2", "type": "transform", "name": "Card", "data": {"value": card}},
    ]
    return {"nodes": nodes, "edges": _edges(["1", "2"])}


def weft_subworkflow(child_id: str) -> dict[str, Any]:
    """A loop over the caller's records, the child workflow run once per record, then the cards
    and their total."""
    nodes = [
        _webhook_start(),
        {"id": "2", "type": "loop", "name": "Each", "data": {"items": "trigger.body.records"}},
        {
            "id": "3",
            "type": "workflow",
            "name": "Card",
            "data": {"workflow_id": child_id, "payload": "{{ loop.item }}"},
        },
        {
            "id": "4",
            "type": "respond",
            "name": "Reply",
            "data": {
                "body": {
                    "n": "{{ trigger.body.n }}",
                    "cards": "{{ nodes.each }}",
                    "cents": "{{ $sum(nodes.each.cents) }}",
                }
            },
        },
    ]
    edges = [
        {"source": "1", "target": "2"},
        {"source": "2", "target": "3", "sourceHandle": "body"},
        {"source": "2", "target": "4"},
    ]
    return {"nodes": nodes, "edges": edges}


# n8n ------------------------------------------------------------------------------------------


def _n8n_node(
    name: str, kind: str, version: float, parameters: dict[str, Any], x: int
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"weft-bench/{name}")),
        "name": name,
        "type": f"n8n-nodes-base.{kind}",
        "typeVersion": version,
        "position": [x, 0],
        "parameters": parameters,
    }


def _n8n_webhook(path: str) -> dict[str, Any]:
    node = _n8n_node(
        "Webhook",
        "webhook",
        2,
        {"httpMethod": "POST", "path": path, "responseMode": "responseNode", "options": {}},
        0,
    )
    node["webhookId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"weft-bench/webhook/{path}"))
    return node


def _n8n_respond(body: str, x: int) -> dict[str, Any]:
    return _n8n_node(
        "Reply",
        "respondToWebhook",
        1.1,
        {"respondWith": "json", "responseBody": body, "options": {}},
        x,
    )


def _n8n_link(*names: str) -> dict[str, Any]:
    return {
        a: {"main": [[{"node": b, "type": "main", "index": 0}]]}
        for a, b in itertools.pairwise(names)
    }


def _n8n_workflow(
    workflow_id: str, name: str, nodes: list[dict[str, Any]], connections: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": name,
        "active": False,
        "nodes": nodes,
        "connections": connections,
        "settings": {"executionOrder": "v1"},
    }


def _n8n_set(name: str, fields: list[tuple[str, ...]], x: int) -> dict[str, Any]:
    """A Set node; each field is (name, value) of type number, or (name, value, type)."""
    assignments = [
        {
            "id": f"{name}-{field[0]}",
            "name": field[0],
            "value": field[1],
            "type": (*field, "number")[2],
        }
        for field in fields
    ]
    return _n8n_node(
        name,
        "set",
        3.4,
        {"mode": "manual", "assignments": {"assignments": assignments}, "options": {}},
        x,
    )


def n8n_five_step(sink_url: str) -> dict[str, Any]:
    """The five-step workflow in n8n's nodes: Set, If, Code, HTTP Request, Respond to Webhook."""
    shape = _n8n_set(
        "Shape", [("n", "={{ $json.body.n }}"), ("double", "={{ $json.body.n * 2 }}")], 200
    )
    even = _n8n_node(
        "Even",
        "if",
        2.2,
        {
            "conditions": {
                "options": {
                    "caseSensitive": True,
                    "leftValue": "",
                    "typeValidation": "strict",
                    "version": 2,
                },
                "conditions": [
                    {
                        "id": "even-0",
                        "leftValue": "={{ $json.n % 2 }}",
                        "rightValue": 0,
                        "operator": {"type": "number", "operation": "equals"},
                    }
                ],
                "combinator": "and",
            },
            "options": {},
        },
        400,
    )
    score = _n8n_node(
        "Score",
        "code",
        2,
        {"jsCode": "return [{ json: { score: $input.first().json.double + 1 } }];"},
        600,
    )
    call = _n8n_node(
        "Call",
        "httpRequest",
        4.2,
        {
            "method": "POST",
            "url": sink_url,
            "sendBody": True,
            "specifyBody": "json",
            "jsonBody": "={{ JSON.stringify({ score: $json.score }) }}",
            "options": {},
        },
        800,
    )
    reply = _n8n_respond(
        "={{ JSON.stringify({ score: $json.score, n: $('Shape').item.json.n }) }}", 1000
    )
    connections = _n8n_link("Webhook", "Shape", "Even")
    connections.update(_n8n_link("Score", "Call", "Reply"))
    to_score = [{"node": "Score", "type": "main", "index": 0}]
    connections["Even"] = {"main": [to_score, to_score]}
    nodes = [_n8n_webhook("five-step"), shape, even, score, call, reply]
    return _n8n_workflow("BenchFiveStep001", "bench five-step", nodes, connections)


def n8n_trivial() -> dict[str, Any]:
    """Webhook -> Respond to Webhook."""
    nodes = [_n8n_webhook("trivial"), _n8n_respond("={{ JSON.stringify({ ok: true }) }}", 200)]
    return _n8n_workflow("BenchTrivial0001", "bench trivial", nodes, _n8n_link("Webhook", "Reply"))


def n8n_chain() -> dict[str, Any]:
    """CHAIN_LENGTH Set nodes in a row, each copying the previous one's value."""
    nodes = [_n8n_webhook("chain")]
    names = ["Webhook"]
    previous = "$json.body.n"
    for index in range(1, CHAIN_LENGTH + 1):
        name = f"T{index}"
        nodes.append(
            _n8n_set(name, [("n", f"={{{{ {previous} }}}}"), ("i", str(index))], 200 * index)
        )
        names.append(name)
        previous = "$json.n"
    nodes.append(_n8n_respond("={{ JSON.stringify({ n: $json.n }) }}", 200 * (CHAIN_LENGTH + 1)))
    names.append("Reply")
    return _n8n_workflow("BenchChain000001", "bench chain", nodes, _n8n_link(*names))


def n8n_mapping() -> dict[str, Any]:
    """The six mappings as n8n expressions (JavaScript) in one Set node."""
    records = "$json.body.records"
    active = f'{records}.filter(r => r.status === "active")'
    mapped = _n8n_set(
        "Map",
        [
            ("n", "={{ $json.body.n }}"),
            ("active", f"={{{{ {active}.length }}}}"),
            (
                "top",
                f"={{{{ {active}.sort((a, b) => b.amount - a.amount).slice(0, 5)"
                ".map(r => r.name) }}",
                "array",
            ),
            (
                "labels",
                f'={{{{ {records}.map(r => r.name.toUpperCase() + " <" + '
                'r.email.toLowerCase() + ">") }}',
                "array",
            ),
            (
                "total",
                f"={{{{ Math.round({records}.reduce((s, r) => s + r.amount, 0) * 100) / 100 }}}}",
            ),
            ("tags", f"={{{{ [...new Set({records}.flatMap(r => r.tags))] }}}}", "array"),
        ],
        200,
    )
    reply = _n8n_respond(
        "={{ JSON.stringify({ n: $json.n, total: $json.total, top: $json.top }) }}", 400
    )
    nodes = [_n8n_webhook("mapping"), mapped, reply]
    return _n8n_workflow(
        "BenchMapping0001", "bench mapping", nodes, _n8n_link("Webhook", "Map", "Reply")
    )


def n8n_loop() -> dict[str, Any]:
    """n8n runs a node once per item: Split Out the 20 items, a Set per item, Summarize."""
    split = _n8n_node("Each", "splitOut", 1, {"fieldToSplitOut": "body.items", "options": {}}, 200)
    score = _n8n_set(
        "Score",
        [
            ("score", "={{ Math.round(Math.sqrt($json.v) * 100) }}"),
            ("label", "={{ $json.name.toUpperCase() }}", "string"),
        ],
        400,
    )
    total = _n8n_node(
        "Total",
        "summarize",
        1.1,
        {
            "fieldsToSummarize": {"values": [{"aggregation": "sum", "field": "score"}]},
            "options": {},
        },
        600,
    )
    reply = _n8n_respond(
        "={{ JSON.stringify({ total: $json.sum_score, n: $('Webhook').first().json.body.n }) }}",
        800,
    )
    nodes = [_n8n_webhook("loop"), split, score, total, reply]
    connections = _n8n_link("Webhook", "Each", "Score", "Total", "Reply")
    return _n8n_workflow("BenchLoop0000001", "bench loop", nodes, connections)


N8N_CHILD_ID = "BenchSubChild001"


def n8n_subworkflow_child() -> dict[str, Any]:
    """The child: "When Executed by Another Workflow" (accept all data) -> a Set making the card."""
    trigger = _n8n_node(
        "When Executed by Another Workflow",
        "executeWorkflowTrigger",
        1.1,
        {"inputSource": "passthrough"},
        0,
    )
    card = _n8n_set(
        "Card",
        [
            ("id", "={{ $json.id }}"),
            (
                "label",
                '={{ $json.name.toUpperCase() + " <" + $json.email.toLowerCase() + ">" }}',
                "string",
            ),
            ("cents", "={{ Math.round($json.amount * 100) }}"),
            ("active", '={{ $json.status === "active" }}', "boolean"),
        ],
        200,
    )
    connections = _n8n_link("When Executed by Another Workflow", "Card")
    return _n8n_workflow(N8N_CHILD_ID, "bench subworkflow child", [trigger, card], connections)


def n8n_subworkflow() -> dict[str, Any]:
    """Split Out the records, Execute Workflow once per record (mode "each": one child run per
    item, as Weft's loop), Aggregate the cards, respond."""
    split = _n8n_node(
        "Each", "splitOut", 1, {"fieldToSplitOut": "body.records", "options": {}}, 200
    )
    call = _n8n_node(
        "Card",
        "executeWorkflow",
        1.2,
        {
            "source": "database",
            "workflowId": {"__rl": True, "value": N8N_CHILD_ID, "mode": "id"},
            "mode": "each",
            "options": {"waitForSubWorkflow": True},
        },
        400,
    )
    cards = _n8n_node(
        "Cards",
        "aggregate",
        1,
        {"aggregate": "aggregateAllItemData", "destinationFieldName": "cards", "options": {}},
        600,
    )
    reply = _n8n_respond(
        "={{ JSON.stringify({ n: $('Webhook').first().json.body.n, cards: $json.cards,"
        " cents: $json.cards.reduce((s, c) => s + c.cents, 0) }) }}",
        800,
    )
    nodes = [_n8n_webhook("subworkflow"), split, call, cards, reply]
    connections = _n8n_link("Webhook", "Each", "Card", "Cards", "Reply")
    return _n8n_workflow("BenchSubWorkflow", "bench subworkflow", nodes, connections)


WEFT = {
    "five-step": weft_five_step,
    "trivial": weft_trivial,
    "chain": weft_chain,
    "mapping": weft_mapping,
    "loop": weft_loop,
    "subworkflow": weft_subworkflow,
}
N8N = {
    "five-step": n8n_five_step,
    "trivial": n8n_trivial,
    "chain": n8n_chain,
    "mapping": n8n_mapping,
    "loop": n8n_loop,
    "subworkflow": n8n_subworkflow,
}
N8N_PATHS = {name: name for name in N8N}
# The workflows the benchmarked ones call, installed and published before them (no webhook).
# A Weft parent's builder takes its child's id; n8n's child is imported with N8N_CHILD_ID.
WEFT_CHILDREN = {"subworkflow": weft_subworkflow_child}
N8N_CHILDREN = [n8n_subworkflow_child]
