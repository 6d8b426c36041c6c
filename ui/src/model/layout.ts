// Auto-layout: dagre ranks the graph top to bottom; branch outputs keep their left-to-right order.
import dagre from "@dagrejs/dagre";
import type { Graph, XY } from "../lib/types";

export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 72;

export function autoLayout(graph: Graph): Record<string, XY> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 48, ranksep: 72, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of graph.edges) {
    if (g.hasNode(edge.source) && g.hasNode(edge.target)) g.setEdge(edge.source, edge.target);
  }
  dagre.layout(g);
  const positions: Record<string, XY> = {};
  for (const node of graph.nodes) {
    const laid = g.node(node.id) as { x: number; y: number } | undefined;
    if (laid) positions[node.id] = { x: Math.round(laid.x - NODE_WIDTH / 2), y: Math.round(laid.y - NODE_HEIGHT / 2) };
  }
  return positions;
}
