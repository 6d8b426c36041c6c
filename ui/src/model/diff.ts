// What changed between two versions of a graph, node by node (for the draft vs live view).
import type { Graph } from "../lib/types";
import { t } from "../i18n";

export type NodeChange = "added" | "removed" | "changed" | "same";

export interface GraphDiff {
  nodes: Record<string, NodeChange>;
  added: number;
  removed: number;
  changed: number;
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => JSON.stringify(k) + ":" + stable(v)).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

function wiring(graph: Graph, id: string): string {
  return graph.edges
    .filter((e) => e.source === id)
    .map((e) => `${e.sourceHandle ?? ""}>${e.target}`)
    .sort()
    .join(",");
}

/** Compare `before` (live) with `after` (draft): positions do not count as changes. */
export function diffGraphs(before: Graph, after: Graph): GraphDiff {
  const old = new Map(before.nodes.map((n) => [n.id, n]));
  const result: GraphDiff = { nodes: {}, added: 0, removed: 0, changed: 0 };
  for (const node of after.nodes) {
    const was = old.get(node.id);
    if (!was) {
      result.nodes[node.id] = "added";
      result.added += 1;
    } else if (
      was.type !== node.type ||
      was.name !== node.name ||
      stable(was.data) !== stable(node.data) ||
      wiring(before, node.id) !== wiring(after, node.id)
    ) {
      result.nodes[node.id] = "changed";
      result.changed += 1;
    } else {
      result.nodes[node.id] = "same";
    }
  }
  const now = new Set(after.nodes.map((n) => n.id));
  for (const node of before.nodes) {
    if (!now.has(node.id)) {
      result.nodes[node.id] = "removed";
      result.removed += 1;
    }
  }
  return result;
}

/** One field of a step that differs: its path in the step ("name", "data.url", "data.headers.x"). */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface StepChanges {
  id: string;
  name: string;
  change: Exclude<NodeChange, "same">;
  fields: FieldChange[];
}

/** What differs between two graphs, field by field, as people read it. */
export interface GraphChanges {
  steps: StepChanges[];
  /** "Fetch → Notify (true)": connections only one side has. */
  edgesAdded: string[];
  edgesRemoved: string[];
  notesChanged: number;
}

const MISSING = undefined;

function fieldChanges(before: unknown, after: unknown, path: string, out: FieldChange[]): void {
  const plain = (v: unknown) => Boolean(v) && typeof v === "object" && !Array.isArray(v);
  if (plain(before) && plain(after)) {
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
    for (const key of keys) fieldChanges(key in b ? b[key] : MISSING, key in a ? a[key] : MISSING, path ? `${path}.${key}` : key, out);
    return;
  }
  // Lists and values compare whole: a shifted list reads better as old → new than item by item.
  if (stable(before) !== stable(after)) out.push({ path, before, after });
}

function edgeText(graph: Graph, edge: Graph["edges"][number]): string {
  const name = (id: string) => graph.nodes.find((n) => n.id === id)?.name ?? id;
  return `${name(edge.source)} → ${name(edge.target)}${edge.sourceHandle ? ` (${edge.sourceHandle})` : ""}`;
}

/** Compare `before` (a version) with `after` (the draft): every changed field, old → new. */
export function describeChanges(before: Graph, after: Graph): GraphChanges {
  const summary = diffGraphs(before, after);
  const old = new Map(before.nodes.map((n) => [n.id, n]));
  const now = new Map(after.nodes.map((n) => [n.id, n]));
  const steps: StepChanges[] = [];
  for (const [id, change] of Object.entries(summary.nodes)) {
    if (change === "same") continue;
    const was = old.get(id);
    const is = now.get(id);
    const fields: FieldChange[] = [];
    if (was && is) {
      fieldChanges({ name: was.name, type: was.type }, { name: is.name, type: is.type }, "", fields);
      fieldChanges(was.data, is.data, "", fields);
    }
    steps.push({ id, name: (is ?? was)!.name, change, fields });
  }
  const key = (e: Graph["edges"][number]) => `${e.source}>${e.sourceHandle ?? ""}>${e.target}`;
  const beforeKeys = new Set(before.edges.map(key));
  const afterKeys = new Set(after.edges.map(key));
  const notesOf = (g: Graph) => new Map((g.notes ?? []).map((n) => [n.id, stable({ ...n, position: null })]));
  const oldNotes = notesOf(before);
  const newNotes = notesOf(after);
  let notesChanged = 0;
  for (const id of new Set([...oldNotes.keys(), ...newNotes.keys()])) if (oldNotes.get(id) !== newNotes.get(id)) notesChanged += 1;
  return {
    steps,
    edgesAdded: after.edges.filter((e) => !beforeKeys.has(key(e))).map((e) => edgeText(after, e)),
    edgesRemoved: before.edges.filter((e) => !afterKeys.has(key(e))).map((e) => edgeText(before, e)),
    notesChanged,
  };
}

/** A value in a change list: short JSON, or "(none)" when the field is absent. */
export function showValue(value: unknown, max = 80): string {
  if (value === undefined) return t("(none)");
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
