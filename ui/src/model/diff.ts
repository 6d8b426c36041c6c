// What changed between two versions of a graph, node by node (for the draft vs live view).
import type { Graph } from "../lib/types";

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
