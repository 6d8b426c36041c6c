"""Evaluating expressions and rendering `{{ }}` templates, always within time and depth bounds.

Expressions are user input: jsonata-python has no limit by default (a recursive lambda runs
forever), so every evaluation gets a fresh frame with runtime bounds (see `syntax.py`).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonata import Jsonata

from weft.expressions import native
from weft.expressions.bounded import inline_reads
from weft.expressions.paths import DECLINED, lookup, plain_path
from weft.expressions.syntax import ExpressionSyntaxError, parse_expression
from weft.expressions.templates import TemplateExpression, TemplatePart, parse_template

_SURROGATE = re.compile("[\ud800-\udfff]")
DEFAULT_TIMEOUT_MS = 250
DEFAULT_MAX_DEPTH = 200
# The cooperative limit fires first; the hard one is for work that never yields to it.
HARD_LIMIT_FACTOR = 2
HARD_LIMIT_GRACE_S = 0.1
# Growth of resident memory one evaluation may cause (see offload.py and native.py).
MEMORY_CAP_BYTES = 128 * 1024 * 1024


class ExpressionError(Exception):
    """An expression that failed to parse or evaluate; `field` says where it came from."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Limits:
    """Per-evaluation bounds."""

    timeout_ms: int = DEFAULT_TIMEOUT_MS
    max_depth: int = DEFAULT_MAX_DEPTH
    # jlens in a helper process where it may evaluate (`native.py`), else jsonata-python only.
    native: bool = True


def hard_limit_s(limits: Limits) -> float:
    """The most CPU one evaluation (or one render) may use before it is abandoned."""
    return limits.timeout_ms / 1000 * HARD_LIMIT_FACTOR + HARD_LIMIT_GRACE_S


class _Thread(threading.local):
    native = False  # only evaluation threads wait on a helper process, never the event loop
    inline_only = False  # set by `render_inline`: an expression that may take long raises


class NeedsThread(Exception):
    """A render tried inline met an expression that may take long (see `render_inline`)."""


_thread = _Thread()


def allow_native_on_this_thread() -> None:
    """Let evaluations on the calling thread (an evaluation thread) use jlens."""
    _thread.native = True


def to_json(value: Any) -> Any:
    """jsonata-python's results (JList sequences, tuples) as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if callable(value) or type(value).__name__ in ("JLambda", "JFunction"):
        return None  # a function is not data
    return str(value)


def evaluate(source: str, context: dict[str, Any], limits: Limits = Limits()) -> Any:
    """The value of the JSONata expression `source` against `context`."""
    return _evaluate(source, context, limits, {})


def _evaluate(
    source: str, context: dict[str, Any], limits: Limits, answered: dict[str, list[Any]]
) -> Any:
    """`evaluate`, taking jlens's next answer to `source` from `answered` (see
    `_answer_together`) if one is there."""
    names = plain_path(source)
    if names is not None:
        value = lookup(names, context)
        if value is not DECLINED:
            return to_json(value)
    if answered.get(source):
        return _settle(source, answered[source].pop(0), context, limits)
    if _in_process(source, context, limits):
        outcome = native.evaluate_in_process(
            source, context, timeout_ms=limits.timeout_ms, max_depth=limits.max_depth
        )
        return _settle(source, outcome, context, limits)
    if _thread.inline_only and names is None and inline_reads(source, context) is None:
        raise NeedsThread(source)
    if limits.native and _thread.native and native.eligible(source):
        (outcome,) = _native((source,), context, limits)
        return _settle(source, outcome, context, limits)
    return evaluate_with_jsonata(source, context, limits)


def _in_process(source: str, context: dict[str, Any], limits: Limits) -> bool:
    """Whether jlens evaluates `source` in this process: its work is bounded by its length, and
    no string it reads holds a lone surrogate (jlens reads one as U+FFFD, jsonata-python keeps
    it; `\\u` escapes in the source likewise stay with jsonata-python)."""
    if not (limits.native and native.eligible(source)) or "\\u" in source:
        return False
    reads = inline_reads(source, context)
    return reads is not None and not any(
        isinstance(value, str) and not value.isascii() and _SURROGATE.search(value)
        for value in reads
    )


def _native(sources: tuple[str, ...], context: dict[str, Any], limits: Limits) -> list[Any]:
    return native.evaluate_many(
        sources,
        context,
        timeout_ms=limits.timeout_ms,
        max_depth=limits.max_depth,
        hard_limit_s=hard_limit_s(limits),
        memory_cap=MEMORY_CAP_BYTES,
    )


def _settle(source: str, outcome: Any, context: dict[str, Any], limits: Limits) -> Any:
    """jlens's value, or what its `native.Outcome` means: a limit's error, or jsonata-python's
    answer (and, where jlens itself failed, jsonata-python for this source from now on)."""
    if not isinstance(outcome, native.Outcome):
        return to_json(outcome)
    error = outcome.error
    if isinstance(error, native.NativeLimit):
        kind = "time" if "long" in error.message else "memory"
        raise ExpressionError(f"Expression {source!r} {error.message} ({kind} limit exceeded)")
    result = evaluate_with_jsonata(source, context, limits)
    if error.jlens_failed:  # jsonata-python answers where jlens did not: keep to it
        native.decline(source)
    return result


def evaluate_with_jsonata(source: str, context: dict[str, Any], limits: Limits = Limits()) -> Any:
    """`evaluate` always through JSONata: the reference that plain-path lookups agree with."""
    try:
        expression = parse_expression(source)
    except ExpressionSyntaxError as error:
        raise ExpressionError(error.message) from error
    # The per-thread instance pointer decides which instance `$now()` and eval state use.
    Jsonata.CURRENT.jsonata = expression
    frame = expression.create_frame()
    frame.set_runtime_bounds(limits.timeout_ms, limits.max_depth)
    try:
        result = expression.evaluate(context, frame)
    except RecursionError as error:
        raise ExpressionError(f"Expression {source!r} recursed too deeply") from error
    except Exception as error:
        raise ExpressionError(_describe(source, error)) from error
    return to_json(result)


def _describe(source: str, error: Exception) -> str:
    code = getattr(error, "error", None)
    if code == "D1012":
        return f"Expression {source!r} took too long (time limit exceeded)"
    if code == "D1011":
        return f"Expression {source!r} recursed too deeply (depth limit exceeded)"
    return f"Expression {source!r} failed: {error}"


def render(value: Any, context: dict[str, Any], limits: Limits = Limits()) -> Any:
    """`value` with every `{{ }}` in its strings evaluated, recursively through dicts and lists.

    A string that is exactly one template keeps the expression's JSON type; otherwise results are
    interpolated as text (JSON for objects and arrays, empty for undefined).
    """
    return _render(value, context, limits, _answer_together(value, context, limits))


def render_inline(value: Any, context: dict[str, Any], limits: Limits = Limits()) -> Any:
    """`render` on this thread (the event loop) when every expression in `value` is a plain
    path or certain to be quick (`bounded.inline_reads`); raises NeedsThread at the first that
    is not. One walk decides and renders: a separate check first read every path twice."""
    _thread.inline_only = True
    try:
        return _render(value, context, limits, {})
    finally:
        _thread.inline_only = False


def _answer_together(value: Any, context: dict[str, Any], limits: Limits) -> dict[str, list[Any]]:
    """jlens's answers to the expressions in `value` it may evaluate, from one request to the
    helper (one round trip, the context sent and parsed once): by source, one per occurrence
    in the order `_render` meets them (`$random()` twice is two values)."""
    if not (limits.native and _thread.native):
        return {}
    found: list[str] = []
    _native_sources(value, context, limits, found)
    answered: dict[str, list[Any]] = {}
    if found:
        for source, outcome in zip(found, _native(tuple(found), context, limits), strict=True):
            answered.setdefault(source, []).append(outcome)
    return answered


def _native_sources(value: Any, context: dict[str, Any], limits: Limits, found: list[str]) -> None:
    """Adds to `found`, in the order `_render` meets them, the sources in `value` that jlens
    would evaluate."""
    if isinstance(value, str):
        if "{{" not in value:
            return
        parts, _single = split_template(value)
        if isinstance(parts, str):
            return
        for part in parts:
            if isinstance(part, str):
                continue
            names = plain_path(part.source)
            if names is not None and lookup(names, context) is not DECLINED:
                continue
            if native.eligible(part.source) and not _in_process(part.source, context, limits):
                found.append(part.source)
    elif isinstance(value, dict):
        for item in value.values():
            _native_sources(item, context, limits, found)
    elif isinstance(value, list):
        for item in value:
            _native_sources(item, context, limits, found)


def _render(
    value: Any, context: dict[str, Any], limits: Limits, answered: dict[str, list[Any]]
) -> Any:
    if isinstance(value, str):
        return _render_string(value, context, limits, answered)
    if isinstance(value, dict):
        return {key: _render(item, context, limits, answered) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context, limits, answered) for item in value]
    return value


_CACHED_TEXT_CHARS = 4096  # longer strings are parsed each time rather than kept in memory


def _split(text: str) -> tuple[tuple[TemplatePart, ...] | str, str | None]:
    """`text`'s parts (or the syntax error's message), and the source of its expression when it
    is exactly one `{{ }}` with only whitespace around it (it then keeps the JSON type)."""
    try:
        parts = tuple(parse_template(text))
    except ExpressionSyntaxError as error:
        return error.message, None
    expressions = [p for p in parts if isinstance(p, TemplateExpression)]
    literal = [p for p in parts if isinstance(p, str)]
    if len(expressions) == 1 and not "".join(literal).strip():
        return parts, expressions[0].source
    return parts, None


_split_cached = lru_cache(maxsize=4096)(_split)


def split_template(text: str) -> tuple[tuple[TemplatePart, ...] | str, str | None]:
    """`text` split into parts (cached for short texts); see `_split`."""
    return _split_cached(text) if len(text) <= _CACHED_TEXT_CHARS else _split(text)


def _render_string(
    text: str, context: dict[str, Any], limits: Limits, answered: dict[str, list[Any]]
) -> Any:
    if "{{" not in text:
        return text
    parts, single = split_template(text)
    if isinstance(parts, str):
        raise ExpressionError(parts)
    if single is not None:
        return _evaluate(single, context, limits, answered)
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        result = _evaluate(part.source, context, limits, answered)
        if result is None:
            continue
        out.append(result if isinstance(result, str) else json.dumps(result, separators=(",", ":")))
    return "".join(out)
