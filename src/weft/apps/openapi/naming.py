"""Names an imported document's parts get in Weft: actions, parameters, connection fields."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_OTHER = re.compile(r"[^a-z0-9]+")


def snake(text: str) -> str:
    """`listIncidents` -> `list_incidents`, `X-Request-ID` -> `x_request_id` (may be empty)."""
    return _OTHER.sub("_", _CAMEL.sub("_", text).lower()).strip("_")


def action_name(text: str, taken: set[str]) -> str:
    """A unique name matching ACTION_NAME (`^[a-z][a-z0-9_]{0,99}$`)."""
    name = snake(text) or "action"
    if not name[0].isalpha():
        name = "op_" + name
    return unique(name[:95], taken)


def base_param_name(wire: str) -> str:
    """The wire name itself when it is an identifier, else its snake_case spelling."""
    name = wire if _IDENTIFIER.match(wire) else snake(wire) or "param"
    return "p_" + name if name[0].isdigit() else name


def param_name(wire: str, taken: set[str]) -> str:
    """`base_param_name(wire)`, made unique among `taken` (and recorded there)."""
    return unique(base_param_name(wire), taken)


def unique(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`... whichever is free; recorded as taken."""
    found, number = name, 1
    while found in taken:
        number += 1
        found = f"{name}_{number}"
    taken.add(found)
    return found


def label_of(name: str) -> str:
    """`list_incidents` -> `List incidents`."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name
