"""The run row's payload line: short, redacted, bounded whatever the payload's size."""

from __future__ import annotations

import typing

import pytest

from weft.api.executions import TriggerKind
from weft.engine.runs.run_summary import KINDS, SUMMARY_CHARS, payload_summary, trigger_kind

pytestmark = pytest.mark.unit


def test_summary_shows_first_keys_and_hides_credentials_at_any_depth() -> None:
    text = payload_summary({"user": {"token": "t"}, "auth": {"x": 1}, "id": 7, "ok": True})
    assert text == 'auth: "[redacted]", id: 7, ok: true, user: {1 keys}'


def test_summary_counts_what_it_leaves_out_and_truncates_long_values() -> None:
    payload = {f"k{i}": "v" * 100 for i in range(10)}
    text = payload_summary(payload)
    assert len(text) <= SUMMARY_CHARS and text.endswith("…")
    assert payload_summary({f"k{i}": i for i in range(6)}) == "k0: 0, k1: 1, k2: 2, k3: 3, +2 more"


def test_summary_of_lists_scalars_and_nothing() -> None:
    assert payload_summary([1, 2, 3]) == "[3 items]"
    assert payload_summary("plain") == '"plain"'
    assert payload_summary(None) == "" and payload_summary({}) == ""


def test_every_stored_trigger_has_a_kind_the_api_accepts() -> None:
    assert set(KINDS) == set(typing.get_args(TriggerKind))
    assert trigger_kind("execute") == "api" and trigger_kind("webhook") == "webhook"


def test_a_webhook_request_is_summarised_by_its_body() -> None:
    request = {"body": {"id": "o-1"}, "query": {}, "headers": {"x": "y"}, "method": "POST"}
    assert payload_summary(request) == 'id: "o-1"'
    assert payload_summary({"body": 1, "other": 2}) == "body: 1, other: 2"
