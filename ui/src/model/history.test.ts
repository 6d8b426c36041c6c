import { describe, expect, it } from "vitest";
import { canRedo, canUndo, createHistory, push, redo, reset, undo, HISTORY_LIMIT } from "./history";

describe("undo stack", () => {
  it("undoes and redoes in order", () => {
    let h = createHistory(1);
    h = push(h, 2);
    h = push(h, 3);
    h = undo(h);
    expect(h.present).toBe(2);
    h = undo(h);
    expect(h.present).toBe(1);
    expect(canUndo(h)).toBe(false);
    h = redo(h);
    expect(h.present).toBe(2);
    expect(canRedo(h)).toBe(true);
  });

  it("drops the redo branch on a new edit", () => {
    let h = push(push(createHistory("a"), "b"), "c");
    h = push(undo(h), "d");
    expect(canRedo(h)).toBe(false);
    expect(undo(h).present).toBe("b");
  });

  it("merges a burst of edits under one key", () => {
    let h = createHistory("");
    h = push(h, "h", "name", 1000);
    h = push(h, "he", "name", 1200);
    h = push(h, "hey", "name", 1400);
    expect(undo(h).present).toBe("");
    h = push(h, "hey!", "name", 5000);
    expect(undo(h).present).toBe("hey");
  });

  it("bounds its memory", () => {
    let h = createHistory(0);
    for (let i = 1; i <= HISTORY_LIMIT + 50; i += 1) h = push(h, i);
    expect(h.past.length).toBe(HISTORY_LIMIT);
  });

  it("resets without an undo step", () => {
    const h = reset(push(createHistory(1), 2), 7);
    expect(h.present).toBe(7);
    expect(canUndo(h)).toBe(false);
  });
});
