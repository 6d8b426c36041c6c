// The client-side graph model: pure functions over {nodes, edges} in Refold's shapes. Every
// edit the canvas makes goes through here, so the undo stack stores plain values.
import type { Graph, NodeType, WeftEdge, WeftNode, XY } from "../lib/types";

export const ERROR_HANDLE = "error";

/** The name expressions use for a node (mirrors weft.workflows.graph.slugify_name). */
export function slugifyName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "_")
    .replace(/^_+|_+$/g, "");
}

/** An id not yet used by a node of the graph. */
export function freshNodeId(graph: Graph): string {
  const used = new Set(graph.nodes.map((n) => n.id));
  let n = graph.nodes.length + 1;
  while (used.has(String(n))) n += 1;
  return String(n);
}

/** A display name unique in the graph (by slug), from a wanted base. */
export function uniqueName(graph: Graph, base: string, except?: string): string {
  const taken = new Set(graph.nodes.filter((n) => n.id !== except).map((n) => slugifyName(n.name)));
  if (!taken.has(slugifyName(base))) return base;
  for (let i = 2; ; i += 1) {
    const candidate = `${base} ${i}`;
    if (!taken.has(slugifyName(candidate))) return candidate;
  }
}

export function edgeId(source: string, handle: string | null, target: string): string {
  return `e${source}${handle ? "-" + handle : ""}-${target}`;
}

/** The labelled outputs a node offers: null is the plain "next" output. */
export function outputsOf(node: WeftNode, nodeType?: NodeType): (string | null)[] {
  if (node.type === "end") return [];
  const outputs: (string | null)[] = [];
  const data = node.data ?? {};
  const cases = data.cases;
  if (Array.isArray(cases) && cases.length > 0) {
    // A switch: one branch per named case, then "default" for no match.
    for (const c of cases) {
      const name = (c as { name?: unknown }).name;
      if (typeof name === "string" && name && !outputs.includes(name)) outputs.push(name);
    }
    outputs.push("default");
  } else if (nodeType?.branches === "cases") {
    outputs.push("true", "false");
  } else if (Array.isArray(nodeType?.branches) && nodeType.branches.length > 0) {
    outputs.push(...nodeType.branches);
    // A loop's body runs per item; its plain output continues after the loop.
    if (!nodeType.branches.includes("true")) outputs.push(null);
  } else {
    outputs.push(null);
  }
  if (data.on_error === "error") outputs.push(ERROR_HANDLE);
  return outputs;
}

export function addNode(graph: Graph, node: WeftNode): Graph {
  return { ...graph, nodes: [...graph.nodes, node] };
}

export function makeNode(graph: Graph, nodeType: NodeType, position: XY): WeftNode {
  return {
    id: freshNodeId(graph),
    type: nodeType.type,
    name: uniqueName(graph, nodeType.label),
    position,
    data: structuredClone(nodeType.defaults ?? {}) as Record<string, unknown>,
  };
}

/** Connect source's output `handle` to target; one edge per output, no self loops or duplicates. */
export function connect(graph: Graph, source: string, handle: string | null, target: string): Graph {
  if (source === target) return graph;
  const edges = graph.edges.filter((e) => !(e.source === source && (e.sourceHandle ?? null) === handle));
  edges.push({ id: edgeId(source, handle, target), source, target, sourceHandle: handle, targetHandle: null });
  return { ...graph, edges };
}

export function disconnect(graph: Graph, edgeIds: string[]): Graph {
  const drop = new Set(edgeIds);
  const edges = graph.edges.filter((e) => !drop.has(e.id));
  // Unchanged stays the same value: no empty undo step, no needless save.
  return edges.length === graph.edges.length ? graph : { ...graph, edges };
}

/** Put `node` in the middle of an edge: source → node → old target. */
export function insertOnEdge(graph: Graph, edge: WeftEdge, node: WeftNode, nodeType?: NodeType): Graph {
  let next = addNode(disconnect(graph, [edge.id]), node);
  next = connect(next, edge.source, edge.sourceHandle ?? null, node.id);
  const out = outputsOf(node, nodeType)[0];
  if (out !== undefined) next = connect(next, node.id, out, edge.target);
  return next;
}

/** Append `node` after `source`'s output `handle` (a branch end). */
export function appendAfter(graph: Graph, source: string, handle: string | null, node: WeftNode): Graph {
  const existing = graph.edges.find((e) => e.source === source && (e.sourceHandle ?? null) === handle);
  let next = addNode(graph, node);
  next = connect(next, source, handle, node.id);
  if (existing) next = connect(next, node.id, null, existing.target);
  return next;
}

export function removeNodes(graph: Graph, ids: string[]): Graph {
  const drop = new Set(ids);
  if (!graph.nodes.some((n) => drop.has(n.id))) return graph;
  return {
    ...graph,
    nodes: graph.nodes.filter((n) => !drop.has(n.id)),
    edges: graph.edges.filter((e) => !drop.has(e.source) && !drop.has(e.target)),
  };
}

export function updateNode(graph: Graph, id: string, change: Partial<WeftNode>): Graph {
  return { ...graph, nodes: graph.nodes.map((n) => (n.id === id ? { ...n, ...change } : n)) };
}

/** Rename a step and rewrite every `nodes.<old slug>` reference to it across the graph. */
export function renameNode(graph: Graph, id: string, name: string): Graph {
  const trimmed = name.trim();
  const node = graph.nodes.find((n) => n.id === id);
  if (!trimmed || !node) return graph;
  const unique = uniqueName(graph, trimmed, id);
  if (unique === node.name) return graph;
  const renamed = updateNode(graph, id, { name: unique });
  const from = slugifyName(node.name);
  const to = slugifyName(unique);
  // Another step with the old slug makes its references ambiguous: they stay as they are.
  if (!from || !to || from === to || graph.nodes.some((n) => n.id !== id && slugifyName(n.name) === from)) return renamed;
  return { ...renamed, nodes: renamed.nodes.map((n) => {
    const data = rewriteReferences(n.data, from, to) as Record<string, unknown>;
    return data === n.data ? n : { ...n, data };
  }) };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `value` with `nodes.<from>` (and `nodes["from"]`) read as `nodes.<to>` in every string; unchanged parts keep their identity. */
export function rewriteReferences(value: unknown, from: string, to: string): unknown {
  if (typeof value === "string") {
    const name = escapeRegExp(from);
    const dotted = new RegExp(`(?<![\\p{L}\\p{N}_$])(nodes\\s*\\.\\s*)${name}(?![\\p{L}\\p{N}_])`, "gu");
    const indexed = new RegExp(`(?<![\\p{L}\\p{N}_$])(nodes\\s*\\[\\s*)(["'])${name}\\2`, "gu");
    return value.replace(dotted, `$1${to}`).replace(indexed, `$1$2${to}$2`);
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => rewriteReferences(item, from, to));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  if (value && typeof value === "object") {
    let changed = false;
    const entries = Object.entries(value).map(([key, item]) => {
      const next = rewriteReferences(item, from, to);
      changed ||= next !== item;
      return [key, next];
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}

/** Move nodes; the laid routes of their connections no longer fit and are dropped. */
export function moveNodes(graph: Graph, positions: Record<string, XY>): Graph {
  const nodes = graph.nodes.map((n) => (positions[n.id] ? { ...n, position: positions[n.id] } : n));
  const stale = (e: WeftEdge) => Boolean(e.route && (positions[e.source] || positions[e.target]));
  // Unchanged edges stay the same value (a drag moves nodes many times a second).
  const edges = graph.edges.some(stale) ? graph.edges.map((e) => (stale(e) ? withoutRoute(e) : e)) : graph.edges;
  return { nodes, edges };
}

export function withoutRoute(edge: WeftEdge): WeftEdge {
  const { route: _dropped, ...rest } = edge;
  return rest;
}

/** Every node from which `id` can be reached (its data is in scope for `id`'s expressions). */
export function upstreamOf(graph: Graph, id: string): WeftNode[] {
  const incoming = new Map<string, string[]>();
  for (const e of graph.edges) incoming.set(e.target, [...(incoming.get(e.target) ?? []), e.source]);
  const seen = new Set<string>();
  const queue = [...(incoming.get(id) ?? [])];
  while (queue.length) {
    const current = queue.shift()!;
    if (seen.has(current) || current === id) continue;
    seen.add(current);
    queue.push(...(incoming.get(current) ?? []));
  }
  return graph.nodes.filter((n) => seen.has(n.id));
}

/** The clipboard form of a selection: nodes and the edges between them. */
export function copySelection(graph: Graph, ids: string[]): string {
  const keep = new Set(ids);
  const nodes = graph.nodes.filter((n) => keep.has(n.id) && n.type !== "start");
  const kept = new Set(nodes.map((n) => n.id));
  const edges = graph.edges.filter((e) => kept.has(e.source) && kept.has(e.target));
  return JSON.stringify({ weft: "nodes", version: 1, nodes, edges });
}

/** Paste clipboard JSON: fresh ids and names, offset positions; null when it is not ours. */
export function pasteInto(graph: Graph, text: string, offset: XY = { x: 40, y: 40 }): { graph: Graph; pasted: string[] } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const clip = parsed as { weft?: string; nodes?: WeftNode[]; edges?: WeftEdge[] };
  if (clip?.weft !== "nodes" || !Array.isArray(clip.nodes)) return null;
  let next = graph;
  const ids = new Map<string, string>();
  for (const node of clip.nodes) {
    if (typeof node?.id !== "string" || typeof node.type !== "string" || node.type === "start") continue;
    const id = freshNodeId(next);
    ids.set(node.id, id);
    next = addNode(next, {
      id,
      type: node.type,
      name: uniqueName(next, String(node.name ?? node.type)),
      position: { x: (node.position?.x ?? 0) + offset.x, y: (node.position?.y ?? 0) + offset.y },
      data: structuredClone(node.data ?? {}),
    });
  }
  for (const edge of clip.edges ?? []) {
    const source = ids.get(edge.source);
    const target = ids.get(edge.target);
    if (source && target) next = connect(next, source, edge.sourceHandle ?? null, target);
  }
  return { graph: next, pasted: [...ids.values()] };
}

/** The first spot at or below `at` that no step covers: a step added under a loop body's last
 * step, say, must not land on the step the loop continues with. */
export function freeSpot(graph: Graph, at: { x: number; y: number }): { x: number; y: number } {
  const taken = (y: number) => graph.nodes.some((n) => Math.abs(n.position.x - at.x) < 220 && Math.abs(n.position.y - y) < 100);
  let y = at.y;
  while (taken(y)) y += 140;
  return { x: at.x, y };
}
