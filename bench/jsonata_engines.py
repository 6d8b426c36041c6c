"""One small adapter per JSONata engine, for the conformance and speed benches beside it.

Each adapter compiles a source once and evaluates it with optional bindings and optional limits
(a time limit in ms and a depth limit, as the reference suite's timebox cases ask). An engine
that cannot take bindings or limits raises `Unsupported`; the runners count those cases apart.
An error raised by an engine is `EngineError` with the JSONata error code when one is known.

Engines and where they come from (install each into a scratch venv, see BENCHMARKS.md):
  jsonata-python   jsonata-python 0.7.1 (pure Python; Weft's engine before)
  jsonatapy        jsonatapy 2.2.13 (Rust)
  jlens            jlens 0.25.0 (Rust)
  zopyx-pyjsonata  zopyx-pyjsonata 0.3.7 (Rust, Stedi's jsonata-rs)
  jsonata-rs       jsonata-rs 0.1.4 (Rust port of jsonata-java; its import name is `jsonata`,
                   the same as jsonata-python's, so it needs a venv of its own)
  jsonata-js       the reference jsonata 2.2.2 from npm (jsonata.js) in V8 through mini-racer 0.14.1
  weft             Weft's evaluator (src/weft/expressions): jlens in a helper process, with
                   jsonata-python where jlens declines (needs PYTHONPATH=src)
  weft-jsonata-python  the same with WEFT_EXPRESSION_NATIVE=false: jsonata-python only
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

UNDEFINED = object()
CODE = re.compile(r"\b([A-Z]\d{4})\b")


class Unsupported(Exception):
    """The engine cannot run this case (bindings or limits it does not take)."""


class EngineError(Exception):
    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.code = code


def _code_of(error: BaseException) -> str | None:
    for name in ("code", "error"):
        value = getattr(error, name, None)
        if isinstance(value, str) and CODE.fullmatch(value):
            return value
    found = CODE.search(str(error))
    return found.group(1) if found else None


def _wrap(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except (Unsupported, KeyboardInterrupt, SystemExit):
        raise
    except RecursionError as error:
        raise EngineError("recursion", "U1001") from error
    except BaseException as error:  # engines' own error types; a Rust panic is a BaseException
        raise EngineError(str(error), _code_of(error)) from error


Compiled = Callable[[Any, dict[str, Any], tuple[int, int] | None], Any]


def jsonata_python() -> Callable[[str], Compiled]:
    from jsonata import Jsonata

    def compile_(source: str) -> Compiled:
        expression = _wrap(lambda: Jsonata(source))

        def run(data: Any, bindings: dict[str, Any], limits: tuple[int, int] | None) -> Any:
            Jsonata.CURRENT.jsonata = expression
            frame = expression.create_frame()
            for name, value in bindings.items():
                frame.bind(name, value)
            if limits:
                frame.set_runtime_bounds(*limits)
            return _wrap(lambda: expression.evaluate(None if data is UNDEFINED else data, frame))

        return run

    return compile_


def jsonatapy() -> Callable[[str], Compiled]:
    import jsonatapy as engine

    def compile_(source: str) -> Compiled:
        expression = _wrap(lambda: engine.compile(source))

        def run(data: Any, bindings: dict[str, Any], limits: tuple[int, int] | None) -> Any:
            options = {"timeout": limits[0], "max_stack_depth": limits[1]} if limits else {}
            value = None if data is UNDEFINED else data
            return _wrap(lambda: expression.evaluate(value, bindings or None, **options))

        return run

    return compile_


def jlens() -> Callable[[str], Compiled]:
    import jlens as engine

    def compile_(source: str) -> Compiled:
        expression = _wrap(lambda: engine.Expression(source))

        def run(data: Any, bindings: dict[str, Any], limits: tuple[int, int] | None) -> Any:
            options = {"timeout": limits[0] / 1000, "max_depth": limits[1]} if limits else {}
            value = None if data is UNDEFINED else data
            return _wrap(lambda: expression.evaluate(value, bindings or None, **options))

        return run

    return compile_


def zopyx_pyjsonata() -> Callable[[str], Compiled]:
    from zopyx import pyjsonata as engine

    def compile_(source: str) -> Compiled:
        expression = _wrap(lambda: engine.Jsonata(source))

        def run(data: Any, bindings: dict[str, Any], limits: tuple[int, int] | None) -> Any:
            options = {"time_limit": limits[0], "max_depth": limits[1]} if limits else {}
            value = engine.UNDEFINED if data is UNDEFINED else data
            result = _wrap(lambda: expression.evaluate(value, bindings or None, **options))
            return None if isinstance(result, engine.Undefined) else result

        return run

    return compile_


def jsonata_rs() -> Callable[[str], Compiled]:
    import jsonata as engine

    if not hasattr(engine, "JsonataError"):
        raise SystemExit("`jsonata` here is jsonata-python: run jsonata-rs from a venv of its own")

    def compile_(source: str) -> Compiled:
        expression = _wrap(lambda: engine.Jsonata(source))

        def run(data: Any, bindings: dict[str, Any], limits: tuple[int, int] | None) -> Any:
            if limits:
                raise Unsupported("no time or depth limit")
            value = None if data is UNDEFINED else data
            return _wrap(lambda: expression.evaluate(value, bindings or None))

        return run

    return compile_


# The reference implementation; a timebox like the suite's own runner (test/run-test-suite.js).
_JS_GLUE = """
const compiled = [];
function weftCompile(source) { compiled.push(jsonata(source)); return compiled.length - 1; }
function weftTimebox(expr, timeout, maxDepth) {
  let depth = 0; const start = Date.now();
  const check = () => {
    if (maxDepth > 0 && depth > maxDepth) throw {code: "U1001", message: "stack overflow"};
    if (Date.now() - start > timeout) throw {code: "U1001", message: "timeout"};
  };
  expr.assign(Symbol.for('jsonata.__evaluate_entry'), (e, i, env) => {
    if (env.isParallelCall) return; depth++; check(); });
  expr.assign(Symbol.for('jsonata.__evaluate_exit'), (e, i, env) => {
    if (env.isParallelCall) return; depth--; check(); });
}
async function weftRun(id, data, bindings, timeout, maxDepth) {
  try {
    const e = compiled[id];
    if (timeout > 0) weftTimebox(e, timeout, maxDepth);
    const input = data === undefined ? undefined : JSON.parse(data);
    const result = await e.evaluate(input, JSON.parse(bindings));
    return JSON.stringify(result === undefined ? {u: true} : {r: result});
  } catch (error) {
    return JSON.stringify({e: String(error && error.message), c: error && error.code});
  }
}
"""


def jsonata_js(path: str) -> Callable[[str], Compiled]:
    from py_mini_racer import MiniRacer

    context = MiniRacer()
    with open(path, encoding="utf-8") as source:
        context.eval(source.read())
    context.eval(_JS_GLUE)
    compile_js = context.eval("weftCompile")
    run_js = context.eval("weftRun")

    def compile_(source: str) -> Compiled:
        try:
            index = compile_js(source)
        except Exception as error:
            raise EngineError(str(error), _code_of(error)) from error

        def run(data: Any, bindings: dict[str, Any], limits: tuple[int, int] | None) -> Any:
            text = None if data is UNDEFINED else json.dumps(data)
            timeout, depth = limits or (0, 0)
            args = [index, text, json.dumps(bindings), timeout, depth]
            if text is None:
                args[1] = context.eval("undefined")
            answer = json.loads(run_js(*args).get())
            if "e" in answer:
                raise EngineError(answer["e"], answer.get("c"))
            return None if answer.get("u") else answer["r"]

        return run

    return compile_


def weft(use_native: bool = True) -> Callable[[str], Compiled]:
    from weft.expressions.evaluator import Limits, allow_native_on_this_thread, evaluate

    allow_native_on_this_thread()  # as on Weft's evaluation threads

    def compile_(source: str) -> Compiled:
        def run(data: Any, bindings: dict[str, Any], limits: tuple[int, int] | None) -> Any:
            if bindings:
                raise Unsupported("Weft passes no bindings")
            if not isinstance(data, dict):
                raise Unsupported("Weft's context is an object")
            bounds = Limits(*limits, use_native) if limits else Limits(native=use_native)
            return _wrap(lambda: evaluate(source, data, bounds))

        return run

    return compile_


ENGINES: dict[str, Callable[..., Callable[[str], Compiled]]] = {
    "jsonata-python": jsonata_python,
    "jsonatapy": jsonatapy,
    "jlens": jlens,
    "zopyx-pyjsonata": zopyx_pyjsonata,
    "jsonata-rs": jsonata_rs,
    "jsonata-js": jsonata_js,
    "weft": weft,
    "weft-jsonata-python": lambda: weft(use_native=False),
}
