import { describe, expect, it } from "vitest";
import { describeChanges, showValue } from "./diff";
import type { Graph } from "../lib/types";

const before: Graph = {
  nodes: [
    { id: "1", type: "start", name: "Start", position: { x: 0, y: 0 }, data: {} },
    { id: "2", type: "http", name: "Fetch", position: { x: 0, y: 100 }, data: { url: "https://a.test", method: "GET", headers: { x: "1" } } },
    { id: "3", type: "transform", name: "Old", position: { x: 0, y: 200 }, data: { value: 1 } },
  ],
  edges: [
    { id: "e1", source: "1", target: "2", sourceHandle: null, targetHandle: null },
    { id: "e2", source: "2", target: "3", sourceHandle: null, targetHandle: null },
  ],
};

describe("describeChanges", () => {
  it("lists each changed field old → new, and added/removed steps and connections", () => {
    const after: Graph = {
      nodes: [
        before.nodes[0],
        { ...before.nodes[1], name: "Fetch user", position: { x: 50, y: 100 }, data: { url: "https://b.test", method: "GET", headers: {}, timeout: 5 } },
        { id: "4", type: "transform", name: "New", position: { x: 0, y: 200 }, data: {} },
      ],
      edges: [before.edges[0], { id: "e3", source: "2", target: "4", sourceHandle: null, targetHandle: null }],
      notes: [{ id: "n", text: "hi", position: { x: 0, y: 0 } }],
    };
    const changes = describeChanges(before, after);
    const fetch = changes.steps.find((s) => s.id === "2")!;
    expect(fetch.change).toBe("changed");
    expect(fetch.fields).toEqual([
      { path: "name", before: "Fetch", after: "Fetch user" },
      { path: "headers.x", before: "1", after: undefined },
      { path: "timeout", before: undefined, after: 5 },
      { path: "url", before: "https://a.test", after: "https://b.test" },
    ]);
    expect(changes.steps.find((s) => s.id === "3")).toMatchObject({ change: "removed", name: "Old" });
    expect(changes.steps.find((s) => s.id === "4")).toMatchObject({ change: "added", name: "New" });
    expect(changes.edgesAdded).toEqual(["Fetch user → New"]);
    expect(changes.edgesRemoved).toEqual(["Fetch → Old"]);
    expect(changes.notesChanged).toBe(1);
  });

  it("ignores moves", () => {
    const moved: Graph = { ...before, nodes: before.nodes.map((n) => ({ ...n, position: { x: 9, y: 9 } })) };
    expect(describeChanges(before, moved).steps).toEqual([]);
  });

  it("shows values short", () => {
    expect(showValue(undefined)).toBe("(none)");
    expect(showValue("x".repeat(200)).length).toBe(80);
    expect(showValue({ a: 1 })).toBe('{"a":1}');
  });
});
