import { describe, expect, it } from "vitest";
import { addNote, moveNotes, removeNotes, updateNote } from "./notes";
import { removeNodes } from "./graph";
import type { Graph } from "../lib/types";

const empty: Graph = { nodes: [{ id: "1", type: "start", name: "Start", position: { x: 0, y: 0 }, data: {} }], edges: [] };

describe("notes", () => {
  it("adds, edits, moves and removes notes without touching the steps", () => {
    const first = addNote(empty, { x: 10, y: 20 });
    const second = addNote(first.graph, { x: 0, y: 0 });
    expect([first.id, second.id]).toEqual(["note-1", "note-2"]);
    let g = updateNote(second.graph, "note-1", { text: "Ask Ops", color: "blue" });
    g = moveNotes(g, { "note-1": { x: 5, y: 5 } });
    expect(g.notes?.[0]).toMatchObject({ id: "note-1", text: "Ask Ops", color: "blue", position: { x: 5, y: 5 } });
    g = removeNotes(g, ["note-2"]);
    expect(g.notes?.map((n) => n.id)).toEqual(["note-1"]);
    expect(g.nodes).toBe(empty.nodes);
    expect(removeNotes(g, ["nope"])).toBe(g);
  });

  it("keeps notes and pins when steps are removed", () => {
    const g: Graph = { ...addNote(empty, { x: 0, y: 0 }).graph, pins: { "1": 1 }, nodes: [...empty.nodes, { id: "2", type: "transform", name: "T", position: { x: 0, y: 0 }, data: {} }] };
    const after = removeNodes(g, ["2"]);
    expect(after.notes?.length).toBe(1);
    expect(after.pins).toEqual({ "1": 1 });
  });
});
