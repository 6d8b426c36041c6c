import { describe, expect, it } from "vitest";
import type { Graph } from "../lib/types";
import { connect, disconnect, removeNodes, renameNode, rewriteReferences } from "./graph";
import { push, undo, createHistory } from "./history";

const graph = (): Graph => ({
  nodes: [
    { id: "1", type: "start", name: "Start", position: { x: 0, y: 0 }, data: {} },
    { id: "2", type: "http", name: "Fetch user", position: { x: 0, y: 100 }, data: { url: "https://x/{{ trigger.id }}" } },
    {
      id: "3",
      type: "transform",
      name: "Shape",
      position: { x: 0, y: 200 },
      data: { mapping: { email: "{{ nodes.fetch_user.body.email }}", all: "{{ $$.nodes.fetch_user }}", other: "{{ nodes.fetch_user_2 }}" } },
    },
    { id: "4", type: "code", name: "Code", position: { x: 0, y: 300 }, data: { code: "return input.nodes.fetch_user.body + input.nodes['fetch_user'].x", list: ["nodes.fetch_user"] } },
  ],
  edges: [],
});

describe("renaming a step", () => {
  it("rewrites every nodes.<old> reference in every step, and nothing else", () => {
    const start = graph();
    const next = renameNode(start, "2", "Load customer");
    expect(next.nodes[1].name).toBe("Load customer");
    expect(next.nodes[2].data.mapping).toEqual({
      email: "{{ nodes.load_customer.body.email }}",
      all: "{{ $$.nodes.load_customer }}",
      other: "{{ nodes.fetch_user_2 }}",
    });
    expect(next.nodes[3].data).toEqual({ code: "return input.nodes.load_customer.body + input.nodes['load_customer'].x", list: ["nodes.load_customer"] });
    // Untouched steps keep their identity (the canvas skips them).
    expect(next.nodes[0]).toBe(start.nodes[0]);
  });

  it("is one value, so one undo step restores names and references together", () => {
    const start = graph();
    const renamed = renameNode(start, "2", "Load customer");
    const history = undo(push(createHistory(start), renamed, "name:2"));
    expect(history.present).toBe(start);
  });

  it("leaves references alone when another step still has the old slug", () => {
    const g = graph();
    g.nodes.push({ id: "5", type: "http", name: "fetch-user", position: { x: 0, y: 0 }, data: {} });
    const next = renameNode(g, "2", "Load customer");
    expect(next.nodes[2].data).toBe(g.nodes[2].data);
  });

  it("does not touch $nodes variables or longer names", () => {
    expect(rewriteReferences("$nodes.fetch_user nodes.fetch_users nodes . fetch_user", "fetch_user", "x")).toBe("$nodes.fetch_user nodes.fetch_users nodes . x");
  });
});

describe("deleting", () => {
  it("removing steps and their connections is one new value; nothing to remove keeps the graph", () => {
    const g = connect(graph(), "1", null, "2");
    expect(disconnect(g, ["nope"])).toBe(g);
    expect(removeNodes(g, ["nope"])).toBe(g);
    const gone = removeNodes(disconnect(g, [g.edges[0].id]), ["2"]);
    expect(gone.edges).toEqual([]);
    expect(undo(push(createHistory(g), gone)).present).toBe(g);
  });
});
