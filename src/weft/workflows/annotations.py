"""What a draft carries for people, beside its graph: sticky notes and pinned test outputs.

Notes are a separate list in the graph document, not nodes: the engine, publish validation,
expression references and the layout all read `nodes`, so a note can never run, be reached by an
edge or be counted as a problem. A note type in the node registry would have needed a "does not
run" exception in each of those places. Notes are published with the version (they describe it);
pinned outputs are test data and stay with the draft.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from weft.errors import InvalidInput
from weft.store.json_codec import dump_json

MAX_NOTES = 200
MAX_NOTE_TEXT = 5000
MAX_PINNED_BYTES = 512 * 1024  # under the 1 MiB request body limit, leaving room for the graph
NoteColor = Literal["yellow", "blue", "green", "pink", "grey"]
NOTE_COLORS: tuple[str, ...] = get_args(NoteColor)


def check_notes(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Notes as stored (API models checked each field; this checks the list as a whole)."""
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"A draft holds at most {MAX_NOTES} notes", error_code="INVALID_NOTES")
    ids = [note["id"] for note in notes]
    if len(set(ids)) != len(ids):
        raise InvalidInput("Two notes have the same id", error_code="INVALID_NOTES")
    return notes


def check_pinned(pinned: dict[str, Any], node_ids: set[str]) -> dict[str, Any]:
    """Pinned outputs as stored: only those of nodes the draft has, 512 KiB of JSON at most."""
    kept = {node_id: output for node_id, output in pinned.items() if node_id in node_ids}
    if len(dump_json(kept)) > MAX_PINNED_BYTES:
        raise InvalidInput(
            "Pinned outputs may hold 512 KiB of JSON in all: pin a smaller sample",
            error_code="PINNED_TOO_LARGE",
        )
    return kept
