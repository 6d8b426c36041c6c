"""The JavaScript installed in every fresh context before the author's code runs.

`__weft_run(source, inputJson)` parses the input, runs the source and returns one tagged string:
`R<json>` (the output), `E<line>\n<message>` (an exception; the line may be empty),
`S\n<message>` (a syntax error: V8 gives eval'd code no position, so the worker finds the line
itself) or `I<message>` (an output that is not JSON). Errors are not JSON-encoded objects because
the code may have patched Object.prototype.toJSON.

The source runs as a script (its completion value is the output); only if that fails to parse
with "Illegal return statement" does it run as a function body of `input`. Parse errors happen
before anything runs, so the source never runs twice.

The warm runner (WARM_PRELUDE_JS, for a context weft.sandbox.lockdown then freezes) runs the
same source in a fresh strict-mode function scope instead, with `input` as its parameter, so
nothing it declares outlives the call.
"""

from __future__ import annotations

# Lines the Function constructor adds before the body ("function anonymous(input\n) {\n").
FUNCTION_HEADER_LINES = 2

PRELUDE_TEMPLATE = r"""
var __weft_run = ((WARM) => {
  "use strict";
  // Captured before the author's code runs, which may replace the globals.
  const parse = JSON.parse, stringify = JSON.stringify, toText = String;
  const indirectEval = eval, Fn = Function, Err = Error, SyntaxErr = SyntaxError;
  const SOURCE_URL = "\n//# sourceURL=code.js";
  const CODE_FRAME = /code\.js:(\d+):\d+/;
  const MAX_MESSAGE = 2000;

  const clip = (text) => (text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) + "..." : text);

  function describe(error, lineOffset) {
    let message = "an exception was thrown", line = null;
    try {
      if (error instanceof Err) {
        message = toText(error.name) + ": " + toText(error.message);
        const frame = CODE_FRAME.exec(toText(error.stack));
        if (frame) line = Number(frame[1]) - lineOffset;
      } else {
        const text = typeof error === "string" ? error : stringify(error) ?? toText(error);
        message = "Uncaught " + text;
      }
    } catch (_) {
      // A throwing getter or toString on the thrown value: keep the generic message.
    }
    return { line, message: clip(message) };
  }

  const report = (tag, error, lineOffset) => {
    const { line, message } = describe(error, lineOffset);
    return tag + (line === null ? "" : toText(line)) + "\n" + message;
  };

  // A parse error of the source itself has no frame inside code.js; a SyntaxError the code
  // throws at run time (JSON.parse of bad text) does.
  const isParseError = (error) =>
    error instanceof SyntaxErr && !CODE_FRAME.test(toText(error.stack));

  function output(value) {
    if (value === undefined) return "Rnull";
    const kind = typeof value;
    if (kind === "function" || kind === "symbol" || kind === "bigint") {
      return "IThe code returned a " + kind + ", which is not a JSON value";
    }
    if (kind === "object" && value !== null && typeof value.then === "function") {
      return "IThe code returned a Promise; async code is not supported";
    }
    let text;
    try {
      text = stringify(value);
    } catch (error) {
      return "IThe code's result is not JSON-serialisable: " + describe(error, 0).message;
    }
    return text === undefined ? "Rnull" : "R" + text;
  }

  // mini-racer's setTimeout cannot fire here (and the isolate is gone when the call returns):
  // say so plainly rather than let a callback silently never run.
  const noTimers = () => {
    throw new Err("Timers are not available: code runs synchronously and its result is final");
  };
  globalThis.setTimeout = globalThis.setInterval = noTimers;
  globalThis.clearTimeout = globalThis.clearInterval = () => undefined;

  if (!WARM) {
    return (source, inputJson) => {
      const input = parse(inputJson);
      globalThis.input = input;
      let value;
      try {
        value = indirectEval(source + SOURCE_URL);
      } catch (error) {
        if (!isParseError(error)) return report("E", error, 0);
        if (error.message !== "Illegal return statement") return report("S", error, 0);
        let body;
        try {
          body = new Fn("input", source + SOURCE_URL);
        } catch (bodyError) {
          return report("S", bodyError, 0);
        }
        try {
          value = body(input);
        } catch (runError) {
          return report("E", runError, LINE_OFFSET);
        }
      }
      return output(value);
    };
  }

  // Warm mode (weft.sandbox.lockdown freezes the realm after this runs): each call runs in a
  // fresh strict function scope, so its declarations die with it. The source runs through a
  // strict *direct* eval inside `runScript`, whose completion value is the output, as for a
  // script. `runScript` is made by an indirect eval, so its scope is not this closure but a
  // scope of its own that shadows the global *lexical* bindings (mini-racer's `class
  // __TimerManager`): those are no properties of the global object, freezing it cannot make
  // them read-only, and a call could otherwise hand a value to the next through one.
  const apply = Reflect.apply;
  const runScript = indirectEval(`(function () {
    const __TimerManager = undefined;
    return function (input) { "use strict"; return eval(arguments[1]); };
  })()`);
  // Sources seen to need a function body (top-level `return`), so they are not parsed twice.
  const bodySources = new Set();
  const MAX_BODY_SOURCES = 64;
  return (source, inputJson) => {
    const input = parse(inputJson);
    let value;
    if (!bodySources.has(source)) {
      try {
        value = apply(runScript, globalThis, [input, source + SOURCE_URL]);
        return output(value);
      } catch (error) {
        if (!isParseError(error)) return report("E", error, 0);
        if (error.message !== "Illegal return statement") return report("S", error, 0);
      }
      if (bodySources.size >= MAX_BODY_SOURCES) bodySources.clear();
      bodySources.add(source);
    }
    // The body starts on the wrapper's first line, so its lines are the source's. Should the
    // source close the wrapper early, what follows still runs in runScript's strict scope.
    const wrapped = '(function (input) { "use strict";' + source + "\n})" + SOURCE_URL;
    try {
      const body = apply(runScript, globalThis, [input, wrapped]);
      value = apply(body, globalThis, [input]);
    } catch (error) {
      return report(isParseError(error) ? "S" : "E", error, 0);
    }
    return output(value);
  };
})(IS_WARM);
""".replace("LINE_OFFSET", str(FUNCTION_HEADER_LINES))
PRELUDE_JS = PRELUDE_TEMPLATE.replace("IS_WARM", "false")
# The same runner for a warm context; weft.sandbox.lockdown must run right after it.
WARM_PRELUDE_JS = PRELUDE_TEMPLATE.replace("IS_WARM", "true")

# To find a syntax error's line, the worker evaluates the source as a function expression behind
# a `throw`: V8 parses all of it (mini-racer reports "<anonymous>:<line>: SyntaxError: ...") but
# runs nothing, even if a stray `})` in the source closes the wrapper early.
SYNTAX_PROBE_PREFIX = "throw 0;\n(function (input) {\n"
SYNTAX_PROBE_SUFFIX = "\n})"
SYNTAX_PROBE_LINE_OFFSET = 2
