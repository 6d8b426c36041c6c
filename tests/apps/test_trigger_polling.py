"""Which polled items are new: baseline first, then dedupe keys and cursors (pure logic)."""

from __future__ import annotations

import pytest

from weft.apps.catalog import shipped_definitions
from weft.apps.model import AppDefinition
from weft.apps.polling import SEEN_LIMIT, PollState, dig, listed_items, new_items
from weft.apps.trigger_model import PollingTrigger

pytestmark = pytest.mark.unit

BY_ID = PollingTrigger(name="new", label="New", action="list", items="data", dedupe_key="id")
BY_CURSOR = PollingTrigger(
    name="new", label="New", action="list", cursor="updated", cursor_param="since"
)
BOTH = PollingTrigger(name="new", label="New", action="list", dedupe_key="id", cursor="at")


def _keys(found: list) -> list[str]:
    return [new.key for new in found]


def test_the_first_poll_is_the_baseline_and_starts_nothing() -> None:
    found, state = new_items(BY_ID, [{"id": "a"}, {"id": "b"}], PollState())
    assert found == [] and state.primed and set(state.seen) == {"a", "b"}


def test_dedupe_key_fires_each_new_item_once() -> None:
    _, state = new_items(BY_ID, [{"id": "a"}], PollState())
    found, state = new_items(BY_ID, [{"id": "b"}, {"id": "a"}], state)
    assert _keys(found) == ["b"]
    found, state = new_items(BY_ID, [{"id": "c"}, {"id": "b"}, {"id": "a"}], state)
    assert _keys(found) == ["c"]
    found, _ = new_items(BY_ID, [{"id": "c"}, {"id": "b"}], state)
    assert found == []


def test_seen_keys_are_bounded_newest_first() -> None:
    state = PollState(primed=True, seen=[f"old{i}" for i in range(SEEN_LIMIT)])
    _, state = new_items(BY_ID, [{"id": "new"}], state)
    assert len(state.seen) == SEEN_LIMIT and state.seen[0] == "new"


def test_cursor_fires_items_above_it_oldest_first_and_advances() -> None:
    _, state = new_items(BY_CURSOR, [{"updated": 5}, {"updated": 3}], PollState())
    assert state.cursor == 5
    found, state = new_items(BY_CURSOR, [{"updated": 9}, {"updated": 7}, {"updated": 5}], state)
    assert [new.item["updated"] for new in found] == [7, 9] and state.cursor == 9


def test_cursor_with_dedupe_key_fires_items_sharing_the_cursor_value_once() -> None:
    _, state = new_items(BOTH, [{"id": "a", "at": "2026-01-01T10:00:00Z"}], PollState())
    items = [{"id": "a", "at": "2026-01-01T10:00:00Z"}, {"id": "b", "at": "2026-01-01T10:00:00Z"}]
    found, state = new_items(BOTH, items, state)
    assert _keys(found) == ["b"]
    found, _ = new_items(BOTH, [*items, {"id": "z", "at": "2025-12-31T00:00:00Z"}], state)
    assert found == []  # below the cursor: old, even with an unseen key


def test_items_path_and_dotted_fields() -> None:
    body = {"data": [{"id": 1}], "meta": {"page": {"next": "x"}}}
    assert listed_items(BY_ID, body) == [{"id": 1}]
    assert dig(body, "meta.page.next") == "x" and dig(body, "data.0.id") == 1
    assert dig(body, "meta.nothing.here") is None
    with pytest.raises(ValueError, match="no list"):
        listed_items(BY_ID, {"data": {"id": 1}})


def test_a_polling_trigger_needs_a_key_or_cursor_and_a_sane_interval() -> None:
    with pytest.raises(ValueError, match="dedupe_key or a cursor"):
        PollingTrigger(name="x", label="X", action="list")
    with pytest.raises(ValueError, match="greater than or equal"):
        PollingTrigger(name="x", label="X", action="list", dedupe_key="id", interval_s=1)


def test_triggers_must_name_declared_actions() -> None:
    action = {"name": "list", "label": "L", "method": "GET", "path": "/x", "effect": "read"}
    trigger = {"kind": "polling", "name": "new", "label": "N", "action": "nope", "dedupe_key": "id"}
    raw = {"slug": "acme", "name": "Acme", "actions": [action], "triggers": [trigger]}
    with pytest.raises(ValueError, match="unknown action 'nope'"):
        AppDefinition.model_validate(raw)


def test_shipped_apps_declare_triggers() -> None:
    shipped = shipped_definitions()
    assert {t.name for t in shipped["hubspot"].triggers} == {"deal_created", "contact_created"}
    assert {t.kind for t in shipped["stripe"].triggers} == {"webhook", "polling"}
    assert shipped["github"].trigger("repository_event") is not None
    assert shipped["slack"].trigger("event") is not None
