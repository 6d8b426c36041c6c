"""The nesting check at the door (`api/inbound.py`) answers as a parse would, without parsing
bodies that are certainly shallow (a payload of records has more brackets than levels)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from weft.api.inbound import _shallow, body_problem

pytestmark = pytest.mark.unit

# Brackets, quotes and backslashes inside strings must not count as nesting.
CHARACTERS = '[]{}\\"ab\u00e9'


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max([_depth(item) for item in value.values()], default=0)
    if isinstance(value, list):
        return 1 + max([_depth(item) for item in value], default=0)
    return 0


def _value(rng: random.Random, level: int) -> Any:
    roll = rng.random()
    text = "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(0, 5)))
    if level > 9 or roll < 0.3:
        return text
    if roll < 0.65:
        return [_value(rng, level + 1) for _ in range(rng.randint(0, 3))]
    return {text + str(i): _value(rng, level + 1) for i in range(rng.randint(0, 3))}


def test_shallow_is_never_wrong_and_sure_of_every_body_half_the_limit_deep() -> None:
    rng = random.Random(23)
    for _ in range(3000):
        value = _value(rng, 0)
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        depth = _depth(value)
        for limit in (1, 2, 3, 4, 6, 8):
            shallow = _shallow(text, limit)
            assert not (shallow and depth > limit), (text, limit, depth)
            assert shallow or depth > limit // 2, (text, limit, depth)


def test_records_with_many_brackets_pass_and_deep_bodies_are_refused() -> None:
    records = {"records": [{"id": i, "tags": ["a", "[{"]} for i in range(100)]}
    assert body_problem(json.dumps(records).encode()) is None
    for depth in (64, 65):
        arrays = ("[" * depth + "]" * depth).encode()
        objects = ('{"a":' * depth + "1" + "}" * depth).encode()
        expected = None if depth == 64 else "Request body nests deeper than 64 levels"
        assert body_problem(arrays) == body_problem(objects) == expected
