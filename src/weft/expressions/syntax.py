"""Compiling JSONata expressions, with a per-thread cache of compiled ones.

Notes on jsonata-python 0.7.1 (read from its source, checked by experiment):
- A compiled `Jsonata` is not safe to share between threads. `evaluate()` without bindings
  binds the input into the instance's own frame, and evaluation state (`input`, `environment`,
  `timestamp`) lives on instances. Its `get_per_thread_instance()` keeps ONE instance per thread
  in a class-level `threading.local` (`Jsonata.CURRENT`), which every constructor overwrites:
  in a thread, `eval` runs on whichever instance was built (or first copied) there last, and
  `$now()`/`$millis()` read that instance's timestamp, so they go stale in worker threads.
  Hence the cache below is per thread, and the evaluator must, before each `evaluate`, set
  `Jsonata.CURRENT.jsonata = expr` and pass a fresh bindings frame.
- Limits: the constructor's `timeout`/`stack` arguments arm a `Timebox` whose clock starts at
  construction and whose depth counter is shared by every evaluation, so a cached expression
  would time out for good. Set limits per evaluation instead:
  `frame = expr.create_frame(); frame.set_runtime_bounds(timeout_ms, max_depth);
  expr.evaluate(data, frame)` raises `JException` D1012 (time) or D1011 (depth).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from jsonata import Jsonata

from weft.expressions import caps, cpu_timebox
from weft.expressions.regex import re2_engine

CACHE_SIZE = 512
caps.install()
cpu_timebox.install()


class ExpressionSyntaxError(ValueError):
    """An expression (or a template around one) that cannot be parsed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _ThreadCache(threading.local):
    def __init__(self) -> None:
        # A compiled expression, or the syntax error message, by source.
        self.entries: OrderedDict[str, Jsonata | str] = OrderedDict()


_cache = _ThreadCache()


def _compile(source: str) -> Jsonata | str:
    if not source.strip():
        return "the expression is empty"
    try:
        compiled = Jsonata(source, re2_engine)
    except Exception as error:  # the parser raises JException, but also bare errors on odd input
        message = str(error) or type(error).__name__
        location = getattr(error, "location", None)
        if isinstance(location, int) and location >= 0:
            message = f"{message} (at position {location})"
        return message
    # Left on, every evaluation walks the whole input to check it holds only JSON types: the
    # context of a late step holds every earlier step's output, so each expression re-checked
    # all of it. Contexts are JSON by construction (decoded payloads, node outputs that are
    # stored as JSON), so the check is off; `to_json` still normalises what comes out.
    compiled.set_validate_input(False)
    return compiled


def parse_expression(source: str) -> Jsonata:
    """Compile a JSONata expression (cached per thread); raise `ExpressionSyntaxError` if bad."""
    entries = _cache.entries
    compiled = entries.get(source)
    if compiled is None:
        compiled = _compile(source)
        entries[source] = compiled
        if len(entries) > CACHE_SIZE:
            entries.popitem(last=False)
    else:
        entries.move_to_end(source)
    if isinstance(compiled, str):
        raise ExpressionSyntaxError(f"Invalid expression {source!r}: {compiled}")
    return compiled


# Evaluation (templates rendered against {trigger, nodes, loop, env, config}, with the time and
# depth limits described above) belongs in `weft.expressions.evaluator`, built on
# `parse_expression`.
