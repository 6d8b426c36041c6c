// Auto-layout ("Tidy up") with ELK's layered algorithm, top to bottom. Each labelled output is
// an ELK port at the spot its handle is drawn, in the node's output order (true/false,
// body/done, error last), so ELK orders branches as the canvas shows them and routes every
// connection around the steps. The routes are kept on the edges; the canvas draws them while
// both ends stay where the layout put them. This module (and ELK, large) loads on first use.
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import type { Graph, NodeType, WeftEdge, XY } from "../lib/types";
import { outputsOf, withoutRoute } from "./graph";

export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 72;

export type Size = { width: number; height: number };

export interface Layout {
  /** Top-left corner of every node. */
  positions: Record<string, XY>;
  /** Every edge's path, from its output handle to the next step's input, corners included. */
  routes: Record<string, XY[]>;
}

const OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "ORTHOGONAL",
  // Room under a step for its branch labels and its "+" (drawn up to ~60 px below it).
  "elk.layered.spacing.nodeNodeBetweenLayers": "104",
  "elk.spacing.nodeNode": "48",
  "elk.spacing.edgeNode": "24",
  "elk.spacing.edgeEdge": "16",
  "elk.layered.spacing.edgeNodeBetweenLayers": "36",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  // Steps keep the order they were added in where that costs no crossing.
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.padding": "[top=20,left=20,bottom=20,right=20]",
};

const portId = (node: string, handle: string | null) => `${node}:${handle ?? ""}`;
const inputPort = (node: string) => `${node}:<in>`;

/** The graph as ELK reads it: sized boxes with fixed ports where the handles are drawn. */
export function toElk(graph: Graph, types: Record<string, NodeType>, sizes: Record<string, Size> = {}): ElkNode {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const children: ElkNode[] = graph.nodes.map((node) => {
    const { width, height } = sizes[node.id] ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
    const outputs = outputsOf(node, types[node.type]);
    // Handles sit at (i + 1) / (n + 1) of the width, as the canvas places them.
    const ports = outputs.map((handle, index) => ({
      id: portId(node.id, handle),
      x: ((index + 1) / (outputs.length + 1)) * width,
      y: height,
      width: 0,
      height: 0,
      layoutOptions: { "elk.port.side": "SOUTH", "elk.port.index": String(index) },
    }));
    if (node.type !== "start") {
      ports.push({ id: inputPort(node.id), x: width / 2, y: 0, width: 0, height: 0, layoutOptions: { "elk.port.side": "NORTH", "elk.port.index": "0" } });
    }
    return { id: node.id, width, height, ports, layoutOptions: { "elk.portConstraints": "FIXED_POS" } };
  });
  const edges: ElkExtendedEdge[] = graph.edges
    .filter((e) => ids.has(e.source) && ids.has(e.target) && e.source !== e.target)
    .map((e) => ({ id: e.id, sources: [portOf(graph, types, e)], targets: [inputPort(e.target)] }));
  return { id: "root", layoutOptions: OPTIONS, children, edges };
}

// An edge from an output the node no longer offers still leaves from the node's bottom middle.
function portOf(graph: Graph, types: Record<string, NodeType>, edge: WeftEdge): string {
  const node = graph.nodes.find((n) => n.id === edge.source)!;
  const handle = edge.sourceHandle ?? null;
  const outputs = outputsOf(node, types[node.type]);
  return outputs.includes(handle) ? portId(node.id, handle) : portId(node.id, outputs[0] ?? null);
}

/** Positions and routes from ELK's answer. */
export function fromElk(laid: ElkNode): Layout {
  const positions: Record<string, XY> = {};
  for (const child of laid.children ?? []) positions[child.id] = { x: Math.round(child.x ?? 0), y: Math.round(child.y ?? 0) };
  const routes: Record<string, XY[]> = {};
  for (const edge of laid.edges ?? []) {
    const section = edge.sections?.[0];
    if (!section) continue;
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
    routes[edge.id] = points.map((p) => ({ x: Math.round(p.x), y: Math.round(p.y) }));
  }
  return { positions, routes };
}

export interface LayoutEngine {
  layout(graph: ElkNode): Promise<ElkNode>;
}

let engine: Promise<LayoutEngine> | null = null;

// ELK runs in a worker of its own (started on the first Tidy up, then kept): a large workflow
// takes it a moment, and the canvas stays responsive meanwhile.
function workerEngine(): Promise<LayoutEngine> {
  engine ??= import("elkjs/lib/elk-api.js").then(
    ({ default: ELK }) => new ELK({ workerFactory: () => new Worker(new URL("elkjs/lib/elk-worker.min.js", import.meta.url)) }),
  );
  return engine;
}

/** Lay the graph out; `sizes` are the boxes as drawn (a default box for any not given). */
export async function autoLayout(graph: Graph, types: Record<string, NodeType>, sizes: Record<string, Size> = {}, elk?: LayoutEngine): Promise<Layout> {
  const laid = await (elk ?? (await workerEngine())).layout(toElk(graph, types, sizes));
  return fromElk(laid);
}

/** The graph with the layout applied: one value, so Tidy up is one undo step. */
export function applyLayout(graph: Graph, layout: Layout): Graph {
  return {
    nodes: graph.nodes.map((n) => (layout.positions[n.id] ? { ...n, position: layout.positions[n.id] } : n)),
    edges: graph.edges.map((e) => {
      const route = layout.routes[e.id];
      if (route) return { ...e, route };
      return e.route ? withoutRoute(e) : e;
    }),
  };
}
