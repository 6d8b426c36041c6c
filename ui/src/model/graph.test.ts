import { describe, expect, it } from "vitest";
import type { Graph, NodeType } from "../lib/types";
import {
  appendAfter, connect, copySelection, freeSpot, insertOnEdge, outputsOf, pasteInto, removeNodes,
  renameNode, slugifyName, uniqueName, upstreamOf,
} from "./graph";
import { diffGraphs } from "./diff";

const nodeType = (type: string, branches: NodeType["branches"] = []): NodeType => ({
  type, label: type, category: "action", description: "", branches, effect: "none",
  schema: {}, defaults: {}, data_optional: false, expression_fields: [], template_fields: [],
  bare_expression_fields: [], advanced_fields: [],
});

const base = (): Graph => ({
  nodes: [
    { id: "1", type: "start", name: "Start", position: { x: 0, y: 0 }, data: {} },
    { id: "2", type: "http", name: "Fetch user", position: { x: 0, y: 100 }, data: {} },
  ],
  edges: [{ id: "e1-2", source: "1", target: "2", sourceHandle: null, targetHandle: null }],
});

describe("graph model", () => {
  it("slugifies names as the backend does", () => {
    expect(slugifyName("Fetch User!  v2")).toBe("fetch_user_v2");
  });

  it("keeps names unique by slug", () => {
    expect(uniqueName(base(), "fetch user")).toBe("fetch user 2");
    expect(renameNode(base(), "2", "Start").nodes[1].name).toBe("Start 2");
  });

  it("inserts a node in the middle of an edge", () => {
    const g = base();
    const node = { id: "3", type: "transform", name: "Shape", position: { x: 0, y: 0 }, data: {} };
    const next = insertOnEdge(g, g.edges[0], node, nodeType("transform"));
    expect(next.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual(["1>3", "3>2"]);
  });

  it("appends after a branch end and keeps the branch label", () => {
    const g = base();
    g.nodes.push({ id: "3", type: "condition", name: "Check", position: { x: 0, y: 0 }, data: {} });
    const node = { id: "4", type: "end", name: "Done", position: { x: 0, y: 0 }, data: {} };
    const next = appendAfter(g, "3", "true", node);
    expect(next.edges.find((e) => e.target === "4")?.sourceHandle).toBe("true");
  });

  it("connects one edge per output and refuses self loops", () => {
    let g = connect(base(), "1", null, "2");
    g = connect(g, "2", null, "2");
    expect(g.edges).toHaveLength(1);
  });

  it("removes nodes with their edges", () => {
    const next = removeNodes(base(), ["2"]);
    expect(next.nodes).toHaveLength(1);
    expect(next.edges).toHaveLength(0);
  });

  it("offers labelled branch outputs", () => {
    const cond = { id: "3", type: "condition", name: "c", position: { x: 0, y: 0 }, data: {} };
    expect(outputsOf(cond, nodeType("condition", "cases"))).toEqual(["true", "false"]);
    const sw = { ...cond, data: { cases: [{ name: "big", expression: "1" }] } };
    expect(outputsOf(sw, nodeType("condition", "cases"))).toEqual(["big", "default"]);
    const loop = { ...cond, type: "loop", data: { on_error: "error" } };
    expect(outputsOf(loop, nodeType("loop", ["body"]))).toEqual(["body", null, "error"]);
  });

  it("finds upstream nodes only", () => {
    const g = connect({ ...base(), nodes: [...base().nodes, { id: "3", type: "end", name: "x", position: { x: 0, y: 0 }, data: {} }] }, "2", null, "3");
    expect(upstreamOf(g, "3").map((n) => n.id).sort()).toEqual(["1", "2"]);
    expect(upstreamOf(g, "1")).toEqual([]);
  });

  it("copies and pastes with fresh ids and names", () => {
    const g = base();
    const clip = copySelection(g, ["1", "2"]);
    const pasted = pasteInto(g, clip)!;
    expect(pasted.pasted).toEqual(["3"]);
    expect(pasted.graph.nodes[2].name).toBe("Fetch user 2");
    expect(pasteInto(g, "not json")).toBeNull();
  });

  it("diffs draft against live", () => {
    const live = base();
    const draft = renameNode(base(), "2", "Other");
    draft.nodes.push({ id: "9", type: "end", name: "End", position: { x: 0, y: 0 }, data: {} });
    const diff = diffGraphs(live, removeNodes(draft, ["1"]));
    expect([diff.added, diff.removed, diff.changed]).toEqual([1, 1, 1]);
  });

  it("places a new step below any step already where it would go", () => {
    const g = base();
    // 140 is 40 px from the step at y 100, so the new one goes a row further down.
    expect(freeSpot(g, { x: 0, y: 140 })).toEqual({ x: 0, y: 280 });
    expect(freeSpot(g, { x: 300, y: 140 })).toEqual({ x: 300, y: 140 });
  });
});
