"""Micro-benchmark: what clean JSON values cost to write and read, before odd strings were made
valid (store.json_codec) and now.

Before: PostgreSQL's group commit wrote JSON columns with orjson (json.dumps when orjson could
not); SQLite and every ORM write used SQLAlchemy's default, json.dumps; reads used json.loads.
Now: `dump_json_for_jsonb` (PostgreSQL's batch), `dump_json` (SQLite, ORM writes), `load_json`
(SQLite reads; PostgreSQL reads are unchanged). CPU of this process, best of several rounds.
Usage:

    .venv/bin/python bench/json_codec.py
"""

from __future__ import annotations

import json
import time
import timeit
from collections.abc import Callable
from typing import Any

import orjson

from weft.store.json_codec import dump_json, dump_json_for_jsonb, load_json

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _before_postgres_batch(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:
        return json.dumps(value)


CASES: dict[str, Any] = {
    "small": {"n": 7, "ok": True, "name": "Zoë"},
    "2 KB": {
        "status": 200,
        "headers": {f"h{i}": "v" * 20 for i in range(12)},
        "body": {
            "items": [
                {"id": i, "title": f"Item {i}\n", "tags": ["a", "b"], "price": i * 1.5}
                for i in range(25)
            ]
        },
    },
    "100 KB": {"rows": [{"id": i, "text": "lorem ipsum " * 20, "n": i} for i in range(400)]},
}
PAIRS: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any], bool]] = [
    ("PostgreSQL batch write", _before_postgres_batch, dump_json_for_jsonb, False),
    ("SQLite / ORM write", json.dumps, dump_json, False),
    ("SQLite read", json.loads, load_json, True),
]


def _best_us(work: Callable[[], Any], number: int) -> float:
    rounds = [timeit.timeit(work, number=number, timer=time.process_time) for _ in range(5)]
    return min(rounds) / number * 1e6


def main() -> None:
    for name, value in CASES.items():
        text = json.dumps(value)
        number = max(50, 3_000_000 // len(text))
        for label, before, now, reads_text in PAIRS:
            given = text if reads_text else value
            was = _best_us(lambda f=before, g=given: f(g), number)
            is_ = _best_us(lambda f=now, g=given: f(g), number)
            print(f"{name:7} {label:24} before {was:8.2f} µs   now {is_:8.2f} µs")


if __name__ == "__main__":
    main()
