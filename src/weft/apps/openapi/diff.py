"""What a re-import changes: added, changed and removed actions, and deprecated survivors."""

from __future__ import annotations

from dataclasses import dataclass, field

from weft.apps.model import AppDefinition


@dataclass
class DefinitionDiff:
    """Action names, each list sorted."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def diff_definitions(old: AppDefinition | None, new: AppDefinition) -> DefinitionDiff:
    """Actions `new` adds, changes (any field but `deprecated`) and removes against `old`.

    An action `old` kept only as deprecated counts as removed when `new` lacks it too, so it
    is reported again until no workflow uses it.
    """
    before = {a.name: a.model_dump(exclude={"deprecated"}) for a in (old.actions if old else [])}
    after = {a.name: a.model_dump(exclude={"deprecated"}) for a in new.actions}
    return DefinitionDiff(
        added=sorted(set(after) - set(before)),
        changed=sorted(name for name in set(after) & set(before) if after[name] != before[name]),
        removed=sorted(set(before) - set(after)),
    )


def keep_deprecated(old: AppDefinition | None, new: AppDefinition, used: set[str]) -> AppDefinition:
    """`new` plus every action of `old` it dropped that a live workflow still uses, deprecated."""
    if old is None:
        return new
    present = {action.name for action in new.actions}
    kept = [
        action.model_copy(update={"deprecated": True})
        for action in old.actions
        if action.name not in present and action.name in used
    ]
    if not kept:
        return new
    return new.model_copy(update={"actions": [*new.actions, *kept]})
