"""JSONata at native speed: jlens (Rust) in a helper process, jsonata-python as the reference.

jlens passes all 1,686 cases of the JSONata reference suite and evaluates realistic mappings
about 70 times faster than jsonata-python (BENCHMARKS.md). It runs in a helper process, one per
evaluation thread, because native code cannot be interrupted in our threads: the thread waits
on the process's answer and kills it once the process has used the evaluation's hard CPU limit
(`evaluator.hard_limit_s`, the same as for jsonata-python) or grown its memory past
`evaluator.MEMORY_CAP_BYTES`; the next evaluation starts a fresh process. Within those bounds
jlens's own limits give the quick, clean errors: a step budget in proportion to the time limit
(a cost budget, so load never fails an expression), the depth limit, and the sizes of strings and
arrays it makes (as `caps.py` does for jsonata-python).

jsonata-python stays the reference. An expression goes to jlens only if it has no regex literal
(jlens's regexes backtrack; ours run on RE2 in linear time), no `$eval` (which could build one)
and no range operator but between two number literals (jlens would build a long range whole
before refusing it). Whenever jlens raises an error other than a limit, jsonata-python
evaluates the expression again, so errors read as before, and an expression jsonata-python
answers where jlens failed goes to jsonata-python from then on (decided per expression,
remembered).

A value rendered with several expressions (a transform's fields, a loop pass's body) asks the
helper once (`evaluate_many`): the context, cut to what they read together, is sent and parsed
once, and one round trip answers them all. Each expression still gets one evaluation's limits:
its own step budget, and the helper reports which one it is on (shared memory) so the watch
counts CPU and memory growth from that expression's start.
"""

from __future__ import annotations

import functools
import mmap
import os
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from select import select
from typing import Any, NoReturn

import orjson
from jsonata import Jsonata

from weft.expressions.caps import MAX_PAD_WIDTH, MAX_RANGE
from weft.expressions.syntax import ExpressionSyntaxError, parse_expression

try:
    import jlens
except ImportError:  # no wheel for this platform: jsonata-python evaluates everything
    jlens = None

WORKER = Path(__file__).with_name("native_worker.py")
LENGTH = struct.Struct(">I")
PROGRESS = struct.Struct("=Q")  # sources the helper has begun (see native_worker.py)
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
# jlens steps per millisecond of the time limit. A step of a runaway loop takes ~40 ns of
# jlens's CPU, so the budget stops one after about the time limit's CPU at most; a mapping that
# jsonata-python evaluates within the limit takes fewer steps by far (it is ~70 times slower).
STEPS_PER_MS = 20_000
# Bytes a string jlens makes may hold (`$pad`'s cap is 1,000,000 characters, up to 4 bytes each).
MAX_STRING_BYTES = 4 * MAX_PAD_WIDTH
POLL_S = 0.01
# A context is cut down to what the expression reads (jlens's `reads()`) before it is sent; past
# CUT_BUDGET list items on the way or MAX_SENT_BYTES sent, jsonata-python, which reads the
# context in place, is cheaper for this evaluation (a 4 MB context cost jlens 42 ms where
# jsonata-python read one field in 0.1 ms).
CUT_BUDGET = 5_000
MAX_SENT_BYTES = 1_000_000


class Declined(Exception):
    """jlens did not answer this evaluation: jsonata-python evaluates it instead. `jlens_failed`:
    jlens itself erred (not this evaluation's data being too large or not JSON)."""

    def __init__(self, message: str, *, jlens_failed: bool = True) -> None:
        super().__init__(message)
        self.jlens_failed = jlens_failed


class NativeLimit(Exception):
    """The evaluation used up a limit (time or memory); `message` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Set when jlens is missing or a helper process could not start: jsonata-python evaluates
# everything from then on.
_unavailable = jlens is None
# Sources jsonata-python must evaluate (jlens disagreed with it once): per process.
_declined: set[str] = set()
_declined_lock = threading.Lock()


def _is_number(node: Any) -> bool:
    return getattr(node, "type", None) == "number" and isinstance(node.value, int | float)


def _needs_reference(node: Any, seen: set[int]) -> bool:
    """Whether the parsed expression under `node` holds a regex literal or a range operator
    other than one between two number literals at most MAX_RANGE apart (jlens builds a range
    whole before checking its size; jsonata-python's is capped in `caps.py` first)."""
    if id(node) in seen:
        return False
    seen.add(id(node))
    if isinstance(node, list | tuple):
        return any(_needs_reference(item, seen) for item in node)
    if not hasattr(node, "__dict__"):
        return False
    kind = getattr(node, "type", None)
    if kind == "regex":
        return True
    if kind == "binary" and node.value == "..":
        lhs, rhs = node.lhs, node.rhs
        if not (_is_number(lhs) and _is_number(rhs) and rhs.value - lhs.value < MAX_RANGE):
            return True
    return any(
        _needs_reference(value, seen)
        for name, value in vars(node).items()
        if not name.startswith("_")
        and (isinstance(value, list | tuple) or hasattr(value, "__dict__"))
    )


@functools.lru_cache(maxsize=4096)
def _eligible(source: str) -> bool:
    if "$eval" in source:
        return False
    try:
        expression: Jsonata = parse_expression(source)
    except ExpressionSyntaxError:
        return False  # jsonata-python reports it
    return not _needs_reference(expression.ast, set())


def eligible(source: str) -> bool:
    """Whether jlens may evaluate `source`: no regex, no `$eval`, no range but between small
    literals, never declined before."""
    return not _unavailable and source not in _declined and _eligible(source)


@functools.lru_cache(maxsize=4096)
def _reads(sources: tuple[str, ...]) -> Any:
    """What `sources` read of their input together: True (all of it), a dict of the fields
    they read, or None when jlens cannot parse one of them."""
    try:
        reads = [jlens.Expression(source).reads() for source in sources]
        read = (reads[0] if len(reads) == 1 else jlens.union_reads(reads)).get("input", {})
    except (jlens.JlensError, ValueError):  # a syntax it lacks; a lone surrogate
        return None
    return read


@functools.lru_cache(maxsize=4096)
def _read_json(sources: tuple[str, ...]) -> Any:
    read = _reads(sources)
    return None if read is True else read


class _TooMuch(Exception):
    pass


def _cut(value: Any, read: Any, budget: list[int]) -> Any:
    """`value` cut down to `read` (see `jlens.Read`) through its objects; a list is sent whole
    (cutting each item cost more CPU than it saved), its items counted against `budget`."""
    if read is True:
        return value
    if isinstance(value, dict):
        return {key: _cut(value[key], sub, budget) for key, sub in read.items() if key in value}
    if isinstance(value, list):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise _TooMuch
    return value


def _input_for(source: str | tuple[str, ...], context: dict[str, Any]) -> bytes:
    """The JSON of what the sources read of `context`."""
    read = _reads((source,) if isinstance(source, str) else source)
    if read is None:
        raise Declined("jlens cannot parse it")
    try:
        data = orjson.dumps(_cut(context, read, [CUT_BUDGET]))
    except _TooMuch:
        raise Declined("it reads much of a large context", jlens_failed=False) from None
    if len(data) > MAX_SENT_BYTES:
        raise Declined("it reads much of a large context", jlens_failed=False)
    return data


def decline(source: str) -> None:
    """From now on `source` is evaluated by jsonata-python only."""
    with _declined_lock:
        if len(_declined) < 100_000:
            _declined.add(source)


def _give_up() -> NoReturn:
    global _unavailable
    _unavailable = True
    raise Declined("the jlens process did not start", jlens_failed=False)


class _Helper:
    """One jlens process, used by one thread at a time."""

    def __init__(self) -> None:
        if not hasattr(os, "memfd_create"):  # not Linux: jsonata-python does all the work
            _give_up()
        progress_fd = os.memfd_create("weft-jlens-progress")
        try:
            os.ftruncate(progress_fd, PROGRESS.size)
            self.progress = mmap.mmap(progress_fd, PROGRESS.size)
            self.process = subprocess.Popen(
                [sys.executable, "-s", str(WORKER), str(progress_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                pass_fds=(progress_fd,),
            )
        finally:
            os.close(progress_fd)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests = self.process.stdin
        self.answers = self.process.stdout.fileno()
        self.stat = f"/proc/{self.process.pid}/stat"
        self.statm = f"/proc/{self.process.pid}/statm"
        try:
            ready = orjson.loads(self._read_message(None)) == {"ready": True}
        except (OSError, EOFError, ValueError):
            ready = False
        if not ready:  # jlens missing or broken here: jsonata-python does all the work
            self.kill()
            _give_up()

    def cpu_s(self) -> float:
        with open(self.stat, "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS_PER_S

    def resident(self) -> int:
        with open(self.statm, "rb") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE

    def begun(self) -> int:
        """How many sources the process has begun to evaluate, in all."""
        return int(PROGRESS.unpack_from(self.progress)[0])

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def _read(self, size: int, watch: Any) -> bytes:
        data = b""
        while len(data) < size:
            ready, _, _ = select([self.answers], [], [], POLL_S)
            if not ready:
                if watch is not None:
                    watch()
                continue
            chunk = os.read(self.answers, size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _read_message(self, watch: Any) -> bytes:
        (size,) = LENGTH.unpack(self._read(LENGTH.size, watch))
        return self._read(size, watch)

    def evaluate(self, header: bytes, context: bytes, limits: tuple[float, int]) -> Any:
        """The answer to one request; each of its sources is held to `limits` on its own."""
        hard_limit_s, memory_cap = limits
        started = time.monotonic()
        # Read from the first poll on: most answers come before it, and two /proc reads would
        # cost a tenth of an evaluation. The CPU of that first poll interval goes uncounted;
        # the helper's RLIMIT_DATA bounds memory it grew by then. The same holds for each
        # later source of the request: its figures are taken at the first poll that sees it
        # begun (`begun`), and it is held to the limits from there.
        at_start: list[float] = []

        def watch() -> None:
            begun = self.begun()
            if not at_start or at_start[0] != begun:
                at_start[:] = (begun, self.cpu_s(), self.resident())
                return
            _begun, cpu_at_start, resident_at_start = at_start
            if self.cpu_s() - cpu_at_start > hard_limit_s or time.monotonic() - started > 60:
                self.kill()
                raise NativeLimit("took too long")
            if self.resident() - resident_at_start > memory_cap:
                self.kill()
                raise NativeLimit("used too much memory")

        self.requests.write(LENGTH.pack(len(header)) + header + LENGTH.pack(len(context)) + context)
        self.requests.flush()
        return orjson.loads(self._read_message(watch))


def _discard(helper: _Helper | None) -> None:
    if helper is not None:
        helper.kill()
    _local.helper = None


class _Local(threading.local):
    helper: _Helper | None = None


_local = _Local()


def evaluate_native(
    source: str,
    context: dict[str, Any],
    *,
    timeout_ms: int,
    max_depth: int,
    hard_limit_s: float,
    memory_cap: int,
) -> Any:
    """`source`'s value against `context`, by jlens in this thread's helper process.

    Raises `Declined` when jsonata-python should evaluate it instead, `NativeLimit` when the
    evaluation used up its time or memory."""
    (outcome,) = evaluate_many(
        (source,),
        context,
        timeout_ms=timeout_ms,
        max_depth=max_depth,
        hard_limit_s=hard_limit_s,
        memory_cap=memory_cap,
    )
    if isinstance(outcome, Outcome):
        raise outcome.error
    return outcome


@dataclass(frozen=True)
class Outcome:
    """A source of `evaluate_many` that has no value: `error` is `Declined` or `NativeLimit`."""

    error: Declined | NativeLimit


def evaluate_many(
    sources: tuple[str, ...],
    context: dict[str, Any],
    *,
    timeout_ms: int,
    max_depth: int,
    hard_limit_s: float,
    memory_cap: int,
) -> list[Any]:
    """Each of `sources`' value against `context` (or its `Outcome`), in one request to this
    thread's helper process: the context is sent and parsed once for them all, and each source
    gets the limits of one evaluation. A source the helper did not reach, because an earlier
    one used up a limit, is declined."""
    try:
        data = _input_for(sources, context)
        header = orjson.dumps(
            {
                "sources": sources,
                "read": _read_json(sources),
                "steps": timeout_ms * STEPS_PER_MS,
                "depth": max_depth,
                "string": MAX_STRING_BYTES,
                "array": MAX_RANGE,
                "wall_s": 60.0,
                "data_cap": 2 * memory_cap,
            }
        )
    except Declined as declined:
        if len(sources) == 1:
            return [Outcome(declined)]
        # One that jlens cannot parse, or together too much to send: each on its own.
        limits = {
            "timeout_ms": timeout_ms,
            "max_depth": max_depth,
            "hard_limit_s": hard_limit_s,
            "memory_cap": memory_cap,
        }
        return [evaluate_many((source,), context, **limits)[0] for source in sources]
    except TypeError as error:  # not JSON (a lone surrogate...): jsonata-python reads it as is
        return [Outcome(Declined(str(error), jlens_failed=False))] * len(sources)
    helper = _local.helper
    try:
        if helper is None:
            helper = _local.helper = _Helper()
        begun = helper.begun()
        answers = helper.evaluate(header, data, (hard_limit_s, memory_cap))
    except NativeLimit as limit:
        _local.helper = None
        stopped = helper.begun() - begun - 1 if helper is not None else 0
        never = Declined("an earlier expression used up a limit", jlens_failed=False)
        return [
            Outcome(Declined("answered before the limit", jlens_failed=False))
            if index < stopped
            else Outcome(limit)
            if index == stopped
            else Outcome(never)
            for index in range(len(sources))
        ]
    except Declined as declined:
        return [Outcome(declined)] * len(sources)
    except (OSError, EOFError, ValueError) as error:  # the process died: an abort, a crash
        _discard(helper)
        return [Outcome(Declined(f"the jlens process ended: {error}"))] * len(sources)
    except BaseException:  # an interrupt from the watchdog: an answer may still be on its way
        _discard(helper)
        raise
    return [_value(answer) for answer in answers]


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return jlens.Expression(source)


def evaluate_in_process(
    source: str, context: dict[str, Any], *, timeout_ms: int, max_depth: int
) -> Any:
    """`source`'s value against `context` (or its `Outcome`), by jlens in this process, for an
    expression whose work is bounded by its length (`bounded.py`): it cannot loop, so it needs
    no helper to be stopped, and costs microseconds instead of a round trip."""
    try:
        return _compiled(source).evaluate(
            context,
            None,
            max_steps=timeout_ms * STEPS_PER_MS,
            max_depth=max_depth,
            max_string_length=MAX_STRING_BYTES,
            max_array_length=MAX_RANGE,
        )
    except jlens.JlensError as error:
        if error.code == "U1006":
            return Outcome(NativeLimit("took too long"))
        return Outcome(Declined(str(error)))
    except (ValueError, TypeError) as error:  # a lone surrogate, a value that is not JSON
        return Outcome(Declined(str(error), jlens_failed=False))


def _value(answer: dict[str, Any]) -> Any:
    if "error" in answer:
        if answer["error"] == "U1006":  # its step budget: far past the time limit's work
            return Outcome(NativeLimit("took too long"))
        return Outcome(Declined(str(answer["message"])))
    return answer["ok"]
