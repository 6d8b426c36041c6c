"""`{{ expr }}` templates inside strings: splitting them into literal text and expressions."""

from __future__ import annotations

from dataclasses import dataclass

from weft.expressions.syntax import ExpressionSyntaxError

OPEN = "{{"
CLOSE = "}}"


class TemplateSyntaxError(ExpressionSyntaxError):
    """A string whose `{{ }}` delimiters do not pair up."""


@dataclass(frozen=True)
class TemplateExpression:
    """One `{{ }}` in a template: the JSONata source between the braces, stripped."""

    source: str


TemplatePart = str | TemplateExpression


def _closing_index(text: str, start: int) -> int:
    """Index of the `}}` that closes an expression starting at `start`, or -1."""
    # JSONata has object constructors and string literals, so `{"a": {"b": 1}}` or "}}" inside
    # an expression must not end it: skip quoted text and only accept `}}` at brace depth 0.
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char in "\"'`":
            end = index + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" and char != "`" else 1
            index = end + 1
            continue
        if text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = len(text) if end < 0 else end + 2
            continue
        if depth <= 0 and text.startswith(CLOSE, index):
            return index
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        index += 1
    return -1


def parse_template(text: str) -> list[TemplatePart]:
    """Split `text` into literal strings and expressions; raise on an unterminated `{{`."""
    parts: list[TemplatePart] = []
    position = 0
    while True:
        opening = text.find(OPEN, position)
        if opening < 0:
            break
        closing = _closing_index(text, opening + len(OPEN))
        if closing < 0:
            raise TemplateSyntaxError(
                f"Unterminated template: '{{{{' at position {opening} has no matching '}}}}'"
            )
        if opening > position:
            parts.append(text[position:opening])
        parts.append(TemplateExpression(text[opening + len(OPEN) : closing].strip()))
        position = closing + len(CLOSE)
    if position < len(text):
        parts.append(text[position:])
    return parts


def find_templates(text: str) -> list[str]:
    """The expression source of every `{{ }}` in `text`, in order."""
    return [part.source for part in parse_template(text) if isinstance(part, TemplateExpression)]


def has_templates(text: str) -> bool:
    """Whether `text` holds at least one `{{` (so it needs rendering, or is malformed)."""
    return OPEN in text


def is_single_template(text: str) -> bool:
    """Whether `text` is exactly one `{{ }}` (surrounding whitespace aside): it keeps JSON type."""
    stripped = text.strip()
    if not stripped.startswith(OPEN):
        return False
    try:
        parts = parse_template(stripped)
    except TemplateSyntaxError:
        return False
    return len(parts) == 1 and isinstance(parts[0], TemplateExpression)
