import { describe, expect, it } from "vitest";
import type { Graph, NodeType, WeftNode, XY } from "../lib/types";
import ELK from "elkjs/lib/elk.bundled.js";
import { applyLayout, autoLayout as layOut, NODE_HEIGHT, NODE_WIDTH, type Layout } from "./layout";
import { moveNodes } from "./graph";
import { routePath } from "./route";

// The editor runs ELK in a worker; here the same engine runs in-process.
const elk = new ELK();
const autoLayout = (graph: Graph, known: Record<string, NodeType>, sizes = {}) => layOut(graph, known, sizes, elk);

const nodeType = (type: string, branches: NodeType["branches"] = []): NodeType => ({
  type, label: type, category: "action", description: "", branches, effect: "none",
  schema: {}, defaults: {}, data_optional: false, expression_fields: [], template_fields: [],
  bare_expression_fields: [], advanced_fields: [],
});
const types: Record<string, NodeType> = {
  start: nodeType("start"),
  transform: nodeType("transform"),
  condition: nodeType("condition", "cases"),
  loop: nodeType("loop", ["body"]),
  end: nodeType("end"),
};

const node = (id: string, type: string, data: Record<string, unknown> = {}): WeftNode => ({ id, type, name: `Step ${id}`, position: { x: 0, y: 0 }, data });
const edge = (source: string, handle: string | null, target: string) => ({ id: `e${source}-${handle ?? ""}-${target}`, source, target, sourceHandle: handle, targetHandle: null });

// Start → Check: true runs two steps to Merge, false goes straight to Merge (the long edge that
// used to run under a node), error to Notify; Merge → Each (loop): body → Per item, done → Finish.
const branching = (): Graph => ({
  nodes: [
    node("1", "start"), node("2", "condition", { on_error: "error" }), node("3", "transform"), node("4", "transform"),
    node("5", "transform"), node("6", "transform"), node("7", "loop"), node("8", "transform"), node("9", "end"),
  ],
  edges: [
    edge("1", null, "2"), edge("2", "true", "3"), edge("3", null, "4"), edge("4", null, "5"), edge("2", "false", "5"),
    edge("2", "error", "6"), edge("5", null, "7"), edge("7", "body", "8"), edge("7", null, "9"),
  ],
});

type Segment = [XY, XY];
type Box = { x: number; y: number; width: number; height: number };

const segments = (route: XY[]): Segment[] => route.slice(1).map((p, i) => [route[i], p]);
const between = (v: number, a: number, b: number) => v > Math.min(a, b) && v < Math.max(a, b);

// Orthogonal segments cross when one's x falls strictly inside the other's span and the other's y
// strictly inside the first's: joins at a shared point (edges meeting at an input) are not crossings.
function crosses([a, b]: Segment, [c, d]: Segment): boolean {
  const vertical = (s: Segment) => s[0].x === s[1].x;
  if (vertical([a, b]) === vertical([c, d])) return false;
  const [v, h] = vertical([a, b]) ? [[a, b], [c, d]] : [[c, d], [a, b]];
  return between(v[0].x, h[0].x, h[1].x) && between(h[0].y, v[0].y, v[1].y);
}

// A segment passes through a box when it enters its inside (touching its border, as an edge
// leaving or entering the node does, is not passing through).
function throughBox([a, b]: Segment, box: Box): boolean {
  const left = box.x, right = box.x + box.width, top = box.y, bottom = box.y + box.height;
  if (a.x === b.x) return a.x > left && a.x < right && Math.max(a.y, b.y) > top && Math.min(a.y, b.y) < bottom;
  return a.y > top && a.y < bottom && Math.max(a.x, b.x) > left && Math.min(a.x, b.x) < right;
}

const boxes = (layout: Layout): Box[] => Object.values(layout.positions).map((p) => ({ ...p, width: NODE_WIDTH, height: NODE_HEIGHT }));

describe("auto-layout", () => {
  it("has checks that see a crossing and an edge through a box", () => {
    expect(crosses([{ x: 5, y: 0 }, { x: 5, y: 10 }], [{ x: 0, y: 5 }, { x: 10, y: 5 }])).toBe(true);
    expect(crosses([{ x: 5, y: 0 }, { x: 5, y: 10 }], [{ x: 5, y: 10 }, { x: 10, y: 10 }])).toBe(false);
    expect(throughBox([{ x: 50, y: -10 }, { x: 50, y: 200 }], { x: 0, y: 0, width: 100, height: 50 })).toBe(true);
    expect(throughBox([{ x: 50, y: 50 }, { x: 50, y: 200 }], { x: 0, y: 0, width: 100, height: 50 })).toBe(false);
  });

  it("lays a branching workflow out with no crossing and no edge through a step", async () => {
    const graph = branching();
    const layout = await autoLayout(graph, types);
    expect(Object.keys(layout.positions).sort()).toEqual(graph.nodes.map((n) => n.id).sort());
    expect(Object.keys(layout.routes).sort()).toEqual(graph.edges.map((e) => e.id).sort());
    for (const route of Object.values(layout.routes)) {
      for (const [a, b] of segments(route)) expect(a.x === b.x || a.y === b.y).toBe(true);
    }
    const all = Object.entries(layout.routes).flatMap(([id, route]) => segments(route).map((s) => ({ id, s })));
    const crossings = all.flatMap((p, i) => all.slice(i + 1).filter((q) => q.id !== p.id && crosses(p.s, q.s)).map((q) => `${p.id} × ${q.id}`));
    expect(crossings).toEqual([]);
    const through = all.flatMap(({ id, s }) => boxes(layout).filter((box) => throughBox(s, box)).map((box) => `${id} through ${JSON.stringify(box)}`));
    expect(through).toEqual([]);
    // Steps do not overlap, and run top to bottom.
    const placed = boxes(layout);
    for (let i = 0; i < placed.length; i += 1) {
      for (const other of placed.slice(i + 1)) {
        const apart = placed[i].x + placed[i].width <= other.x || other.x + other.width <= placed[i].x || placed[i].y + placed[i].height <= other.y || other.y + other.height <= placed[i].y;
        expect(apart).toBe(true);
      }
    }
    expect(layout.positions["2"].y).toBeGreaterThan(layout.positions["1"].y);
    expect(layout.positions["7"].y).toBeGreaterThan(layout.positions["5"].y);
  });

  it("leaves each branch from its own handle, in the order the step shows them", async () => {
    const layout = await autoLayout(branching(), types);
    const start = (id: string) => layout.routes[id][0];
    const check = layout.positions["2"];
    // Handles at 1/4, 2/4, 3/4 of the condition's bottom: true, false, error.
    expect(start("e2-true-3")).toEqual({ x: check.x + NODE_WIDTH / 4, y: check.y + NODE_HEIGHT });
    expect(start("e2-false-5").x).toBe(check.x + NODE_WIDTH / 2);
    expect(start("e2-error-6").x).toBe(check.x + (3 * NODE_WIDTH) / 4);
    expect(layout.positions["3"].x).toBeLessThan(layout.positions["6"].x);
    const loop = layout.positions["7"];
    expect(start("e7-body-8").x).toBe(loop.x + NODE_WIDTH / 3);
    expect(start("e7--9").x).toBe(loop.x + (2 * NODE_WIDTH) / 3);
    expect(layout.positions["8"].x).toBeLessThan(layout.positions["9"].x);
    // Every route ends at the top middle of the step it leads to.
    const end = layout.routes["e4--5"].at(-1)!;
    expect(end).toEqual({ x: layout.positions["5"].x + NODE_WIDTH / 2, y: layout.positions["5"].y });
  });

  it("lays out the boxes as drawn", async () => {
    const layout = await autoLayout(branching(), types, { "3": { width: 300, height: 140 } });
    const below = layout.routes["e3--4"][0];
    expect(below).toEqual({ x: layout.positions["3"].x + 150, y: layout.positions["3"].y + 140 });
  });

  it("applies as one graph value; moving a step drops the routes that no longer fit", async () => {
    const graph = branching();
    const laid = applyLayout(graph, await autoLayout(graph, types));
    expect(laid.edges.every((e) => e.route && e.route.length >= 2)).toBe(true);
    const moved = moveNodes(laid, { "3": { x: 999, y: 999 } });
    expect(moved.edges.filter((e) => !e.route).map((e) => e.id).sort()).toEqual(["e2-true-3", "e3--4"]);
  });
});

describe("drawing a laid route", () => {
  const route = [{ x: 100, y: 100 }, { x: 100, y: 140 }, { x: 300, y: 140 }, { x: 300, y: 200 }];

  it("follows the route with rounded corners while its ends are in place", () => {
    const drawn = routePath(route, 101, 104, 300, 198)!;
    expect(drawn.path.startsWith("M 101,104 L 101,130 Q 101,140")).toBe(true);
    expect(drawn.path.endsWith("L 300,198")).toBe(true);
    expect([drawn.labelX, drawn.labelY]).toEqual([211.5, 140]);
  });

  it("gives way to a plain curve once an end has moved", () => {
    expect(routePath(route, 160, 100, 300, 200)).toBeNull();
    expect(routePath(undefined, 100, 100, 300, 200)).toBeNull();
    // Whatever a hand-written draft holds there.
    expect(routePath("abc", 100, 100, 300, 200)).toBeNull();
    expect(routePath([{ x: 100, y: 100 }, { x: "300", y: 200 }], 100, 100, 300, 200)).toBeNull();
  });
});
