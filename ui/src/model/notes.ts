// Sticky notes: a list beside the nodes in the draft (never nodes: the engine and validation read
// only nodes, so a note cannot run or be connected). On the canvas a note is a React Flow node
// whose id carries NOTE_PREFIX, kept apart from steps by that prefix.
import type { Graph, Note, XY } from "../lib/types";

export const NOTE_PREFIX = "note:";
export const NOTE_COLORS = ["yellow", "blue", "green", "pink", "grey"] as const;

export const isNoteId = (flowId: string): boolean => flowId.startsWith(NOTE_PREFIX);
export const noteIdOf = (flowId: string): string => flowId.slice(NOTE_PREFIX.length);

export function freshNoteId(graph: Graph): string {
  const taken = new Set((graph.notes ?? []).map((n) => n.id));
  let n = taken.size + 1;
  while (taken.has(`note-${n}`)) n += 1;
  return `note-${n}`;
}

export function addNote(graph: Graph, position: XY, text = "", id = freshNoteId(graph)): { graph: Graph; id: string } {
  const note: Note = { id, text, position, width: 220, height: 140, color: "yellow" };
  return { graph: { ...graph, notes: [...(graph.notes ?? []), note] }, id };
}

export function updateNote(graph: Graph, id: string, change: Partial<Note>): Graph {
  return { ...graph, notes: (graph.notes ?? []).map((n) => (n.id === id ? { ...n, ...change } : n)) };
}

export function removeNotes(graph: Graph, ids: string[]): Graph {
  const drop = new Set(ids);
  const notes = graph.notes ?? [];
  return notes.some((n) => drop.has(n.id)) ? { ...graph, notes: notes.filter((n) => !drop.has(n.id)) } : graph;
}

export function moveNotes(graph: Graph, positions: Record<string, XY>): Graph {
  return { ...graph, notes: (graph.notes ?? []).map((n) => (positions[n.id] ? { ...n, position: positions[n.id] } : n)) };
}
