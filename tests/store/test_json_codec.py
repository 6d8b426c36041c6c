"""The JSON columns' codec (store.json_codec): odd strings replaced, clean values untouched."""

from __future__ import annotations

import json

import orjson
import pytest

from weft.store.json_codec import (
    dump_json,
    dump_json_for_jsonb,
    load_json,
    parse_json,
    valid_json,
)

pytestmark = pytest.mark.unit

CLEAN = {"n": 1, "name": "Zoë \U0001f600", "list": [1.5, None, True, "a\nb"], "big": 2**70}


def test_clean_values_are_returned_as_they_are_and_written_as_orjson_writes_them() -> None:
    small = {"n": 1, "text": "Zoë \U0001f600"}
    assert valid_json(small) is small
    mentioned = {"text": "\\u0000 is only mentioned"}  # found by the search, kept by the walk
    assert valid_json(mentioned) == mentioned
    assert dump_json(small) == dump_json_for_jsonb(small) == orjson.dumps(small).decode()
    assert json.loads(dump_json(CLEAN)) == CLEAN  # an integer past 64 bits: json.dumps writes it


def test_lone_surrogates_and_nul_become_replacement_characters_in_keys_and_values() -> None:
    odd = {"k\ud800": ["\udfff", "a\x00b", "\ud83d\ude00", "\ude00\ud83d"], "x": {"\x00": 1}}
    want = {"k\ufffd": ["\ufffd", "a\ufffdb", "\U0001f600", "\ufffd\ufffd"], "x": {"\ufffd": 1}}
    assert valid_json(odd) == want
    assert json.loads(dump_json(odd)) == want
    # Left for jsonb to refuse when nothing else was odd (its writer then writes valid_json's).
    assert json.loads(dump_json_for_jsonb({"\x00": 1})) == {"\x00": 1}


def test_keys_that_become_equal_keep_the_last_value() -> None:
    assert valid_json(dict([("\ud800", 1), ("\udfff", 2)])) == {"\ufffd": 2}


def test_text_an_older_version_wrote_reads_back_replaced() -> None:
    older = json.dumps({"k\ud800": ["\udfff", "\x00", "\U0001f600"]})  # escapes, all ASCII
    assert load_json(older) == {"k\ufffd": ["\ufffd", "\ufffd", "\U0001f600"]}
    assert load_json(json.dumps(CLEAN)) == CLEAN


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(CLEAN),
        "-0",
        "-0.0",
        "1e308",
        "1e400",  # a float json.loads reads as infinity, orjson refuses
        "18446744073709551615",
        "-9223372036854775809",
        "12345678901234567890123",  # past 64 bits: orjson would read a float
        '{"a": 1, "a": 2}',
        '"\\ud800"',
        "NaN",
        "[1, 2",
        " 1 ",
    ],
)
def test_parse_json_reads_as_json_loads_does(text: str) -> None:
    def read(parse: object, data: str | bytes) -> tuple[str, object]:
        try:
            value = parse(data)  # type: ignore[operator]
        except ValueError:
            return ("error", None)
        return (type(value).__name__, value)

    for data in (text, text.encode(), b"\xef\xbb\xbf" + text.encode()):
        assert read(parse_json, data) == read(json.loads, data), data
