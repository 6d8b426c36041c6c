"""The JavaScript that locks a warm context down so that no call can leave state for the next.

Run once, right after the warm prelude (weft.sandbox.prelude.WARM_PRELUDE_JS), in the spirit of
SES's `lockdown()` + `harden()` but much shorter, since nothing here has to stay compatible with
libraries:

1. Remove what keeps realm-wide state outside any object: RegExp's legacy statics (`RegExp.$1`,
   `lastMatch`... hold the last match of any regular expression), mini-racer's timer manager,
   `Atomics.waitAsync` and `FinalizationRegistry` (callbacks that would run during a later
   call).
2. Turn the prototype properties that code commonly overrides on its own objects (`toString`,
   `constructor`, an error's `name` and `message`...) into accessors whose setter defines the
   property on the object being assigned: otherwise freezing the prototype would make
   `error.name = "X"` throw (the "override mistake").
3. Freeze every object reachable from the global object, through own properties (values,
   getters and setters, symbol keys included) and prototypes, plus the intrinsics that are only
   reachable from syntax (generator and async function prototypes, iterator prototypes,
   %ThrowTypeError%...), and finally the global object itself: no global can be added, changed
   or removed, no builtin patched.

What a call creates is only reachable from that call's own scope (weft.sandbox.prelude runs it
in a fresh strict function, in a scope that also shadows the global lexical bindings, which are
no properties and cannot be frozen), so once this has run nothing a call does is visible to the
next.
"""

from __future__ import annotations

LOCKDOWN_JS = r"""
(() => {
  "use strict";
  const { getOwnPropertyDescriptor, defineProperty, freeze, getPrototypeOf, isFrozen } = Object;
  const ownKeys = Reflect.ownKeys;

  for (const key of Reflect.ownKeys(RegExp)) {
    if (key !== "length" && key !== "name" && key !== "prototype") delete RegExp[key];
  }
  delete Atomics.waitAsync;
  delete globalThis.FinalizationRegistry;
  globalThis.__timer_manager = undefined;

  const overridable = (proto, names) => {
    for (const name of names) {
      const desc = getOwnPropertyDescriptor(proto, name);
      if (!desc || !("value" in desc)) continue;
      const value = desc.value;
      defineProperty(proto, name, {
        get() { return value; },
        set(newValue) {
          if (this === proto) {
            throw new TypeError("Cannot assign to '" + String(name) + "' of a shared prototype");
          }
          const own = { value: newValue, writable: true, enumerable: true, configurable: true };
          defineProperty(this, name, own);
        },
        enumerable: desc.enumerable,
        configurable: false,
      });
    }
  };
  // Not `constructor` or `then` on Array and Promise: V8 takes its fast paths for array species
  // and promises only while those are plain data properties.
  overridable(Object.prototype, ["toString", "toLocaleString", "valueOf", "hasOwnProperty"]);
  overridable(Function.prototype, ["toString"]);
  overridable(Array.prototype, ["toString"]);
  const errors = [
    Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError,
  ];
  for (const E of errors) overridable(E.prototype, ["constructor", "name", "message", "toString"]);

  // Intrinsics reachable only through syntax or through objects no global leads to.
  const hidden = [];
  const protoOf = (value) => { try { return getPrototypeOf(value); } catch (_) { return null; } };
  const syntaxOnly = [
    () => function* () {},
    () => async function () {},
    () => async function* () {},
    () => (function* () {})(),
    () => (async function* () {})(),
    () => [][Symbol.iterator](),
    () => new Map()[Symbol.iterator](),
    () => new Set()[Symbol.iterator](),
    () => ""[Symbol.iterator](),
    () => /a/[Symbol.matchAll](""),
    () => [].values().map((x) => x),
    () => Iterator.from({ next() { return { done: true }; } }),
    () => new Intl.Segmenter().segment(""),
    () => new Intl.Segmenter().segment("")[Symbol.iterator](),
    () => getOwnPropertyDescriptor(Function.prototype, "caller").get,
    () => (function () { "use strict"; return arguments; })(),
  ];
  for (const make of syntaxOnly) {
    try {
      let value = make();
      while (value !== null && (typeof value === "object" || typeof value === "function")) {
        hidden.push(value);
        value = protoOf(value);
      }
    } catch (_) {
      // An intrinsic this V8 does not have.
    }
  }
  // mini-racer declares its timer class with `class` at the top level: a binding, no property.
  if (typeof __TimerManager === "function") hidden.push(__TimerManager);

  const seen = new Set();
  const pending = [globalThis, ...hidden];
  while (pending.length > 0) {
    const value = pending.pop();
    if (value === null || (typeof value !== "object" && typeof value !== "function")) continue;
    if (seen.has(value)) continue;
    seen.add(value);
    pending.push(protoOf(value));
    for (const key of ownKeys(value)) {
      let desc;
      try {
        desc = getOwnPropertyDescriptor(value, key);
      } catch (_) {
        continue;
      }
      if (!desc) continue;
      if ("value" in desc) pending.push(desc.value);
      else pending.push(desc.get, desc.set);
    }
  }
  // Frozen once the walk is over, so that no getter above ran on a half-frozen realm.
  for (const value of seen) freeze(value);
  for (const value of seen) {
    if (!isFrozen(value)) throw new TypeError("lockdown: an intrinsic could not be frozen");
  }
})();
"""
