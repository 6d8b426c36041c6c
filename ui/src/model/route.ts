// Drawing a laid route (see layout.ts): a polyline with rounded corners, used only while the
// connection's two ends are still where the layout left them.
import type { XY } from "../lib/types";

// How far a handle may be from the route's end and still count as where the layout left it:
// the handle's own size and a badge appearing move it a little, a drag moves it more.
const SNAP_PX = 14;
const CORNER_PX = 10;

export interface RoutePath {
  path: string;
  /** The middle of the route by length, where the "+" to insert a step goes. */
  labelX: number;
  labelY: number;
}

/** The SVG path along `route` from (sx, sy) to (tx, ty); null when the ends have moved. */
export function routePath(route: unknown, sx: number, sy: number, tx: number, ty: number): RoutePath | null {
  if (!isRoute(route)) return null;
  const first = route[0];
  const last = route[route.length - 1];
  if (Math.abs(first.x - sx) > SNAP_PX || Math.abs(first.y - sy) > SNAP_PX || Math.abs(last.x - tx) > SNAP_PX || Math.abs(last.y - ty) > SNAP_PX) return null;
  const points = snapEnds(route, { x: sx, y: sy }, { x: tx, y: ty });
  const [labelX, labelY] = middle(points);
  return { path: rounded(points), labelX, labelY };
}

// A route comes from a saved draft, which anyone with the API can write: only points count.
function isRoute(route: unknown): route is XY[] {
  return Array.isArray(route) && route.length >= 2 && route.every((p) => typeof p === "object" && p !== null && Number.isFinite((p as XY).x) && Number.isFinite((p as XY).y));
}

// Move the ends onto the handles, and the neighbouring corner with them so segments stay straight.
function snapEnds(route: XY[], start: XY, end: XY): XY[] {
  const points = route.map((p) => ({ ...p }));
  const shift = (at: number, next: number, to: XY) => {
    const p = points[at];
    const q = points[next];
    if (next !== 0 && next !== points.length - 1) {
      if (q.x === p.x) q.x = to.x;
      if (q.y === p.y) q.y = to.y;
    }
    points[at] = { ...to };
  };
  shift(0, 1, start);
  shift(points.length - 1, points.length - 2, end);
  return points;
}

function rounded(points: XY[]): string {
  let path = `M ${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length - 1; i += 1) {
    const [a, b, c] = [points[i - 1], points[i], points[i + 1]];
    const r = Math.min(CORNER_PX, distance(a, b) / 2, distance(b, c) / 2);
    const before = toward(b, a, r);
    const after = toward(b, c, r);
    path += ` L ${before.x},${before.y} Q ${b.x},${b.y} ${after.x},${after.y}`;
  }
  const end = points[points.length - 1];
  return `${path} L ${end.x},${end.y}`;
}

function middle(points: XY[]): [number, number] {
  const lengths = points.slice(1).map((p, i) => distance(points[i], p));
  let left = lengths.reduce((sum, l) => sum + l, 0) / 2;
  for (let i = 0; i < lengths.length; i += 1) {
    if (left <= lengths[i] && lengths[i] > 0) {
      const at = toward(points[i], points[i + 1], left);
      return [at.x, at.y];
    }
    left -= lengths[i];
  }
  return [points[0].x, points[0].y];
}

const distance = (a: XY, b: XY) => Math.hypot(b.x - a.x, b.y - a.y);

function toward(from: XY, to: XY, by: number): XY {
  const d = distance(from, to);
  return d === 0 ? { ...from } : { x: from.x + ((to.x - from.x) * by) / d, y: from.y + ((to.y - from.y) * by) / d };
}
