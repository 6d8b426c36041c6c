// The canvas: React Flow showing the draft (or a read-only run / diff), with labelled branch
// handles, "+" on edges and open branch ends, badges, minimap, and keyboard shortcuts.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  BaseEdge,
  ControlButton,
  Controls,
  EdgeLabelRenderer,
  Handle,
  MiniMap,
  Panel,
  Position,
  ReactFlow,
  getBezierPath,
  getNodesBounds,
  getViewportForBounds,
  useReactFlow,
  useStore,
  useStoreApi,
  type Connection,
  type Edge,
  type EdgeChange,
  type EdgeProps,
  type Node,
  type NodeChange,
  type NodeProps,
} from "@xyflow/react";
import type { Graph, NodeType, Problem, Step, XY } from "../lib/types";
import { outputsOf } from "../model/graph";
import { triggerLabel } from "../model/trigger";
import type { NodeChange as DiffChange } from "../model/diff";
import { Icon } from "./Icons";
import { AppIcon } from "./AppIcon";
import type { AppStore } from "../state/apps";
import { routePath } from "../model/route";
import { useSessionFlag } from "../state/panels";
import { StickyNoteView, type NoteViewData } from "./StickyNote";
import { NOTE_PREFIX, addNote, freshNoteId, isNoteId, moveNotes, noteIdOf, removeNotes, updateNote } from "../model/notes";
import "./annotations.css";
import { formatDuration, msg, statusText, t, tn, useLocale } from "../i18n";
import { nodeTypeLabel } from "../i18n/nodeTypes";

export const NEXT_HANDLE = "next";
export type InsertTarget = { kind: "edge"; edgeId: string } | { kind: "end"; source: string; handle: string | null };

interface NodeViewData extends Record<string, unknown> {
  name: string;
  typeLabel: string;
  type: string;
  category: string;
  app?: { slug: string; name: string; icon: string | null };
  outputs: (string | null)[];
  openOutputs: (string | null)[];
  problems: number;
  step?: Step;
  running: boolean;
  pinned: boolean;
  diff?: DiffChange;
  readOnly: boolean;
  onAddAfter(source: string, handle: string | null): void;
}

const STATUS_LABEL: Record<string, string> = {
  COMPLETED: msg("Succeeded"),
  FAILED: msg("Failed"),
  SKIPPED: msg("Not sent (safe mode)"),
  RUNNING: msg("Running"),
};


function statusLabel(status: string): string {
  return status in STATUS_LABEL ? t(STATUS_LABEL[status]) : statusText(status);
}

const WeftNodeView = memo(function WeftNodeView({ id, data, selected }: NodeProps<Node<NodeViewData>>) {
  useLocale();
  const status = data.running ? "RUNNING" : data.step?.node_status;
  const statusClass = status ? ` status-${status.toLowerCase()}` : "";
  const count = data.outputs.length;
  return (
    <div
      className={`wnode cat-${data.category}${statusClass}${selected ? " selected" : ""}${data.problems ? " invalid" : ""}${data.diff ? ` diff-${data.diff}` : ""}`}
      data-testid={`node-${data.name}`}
      aria-label={[data.name, data.typeLabel, data.problems ? tn(data.problems, "{count} problem", "{count} problems") : "", status ? statusLabel(status) : ""].filter(Boolean).join(", ")}
    >
      {data.type !== "start" && <Handle type="target" position={Position.Top} className="handle-in" />}
      <div className="wnode-head">
        {data.app ? (
          <AppIcon slug={data.app.slug} name={data.app.name} icon={data.app.icon} size={32} />
        ) : (
          <span className="wnode-icon">
            <Icon name={data.type} />
          </span>
        )}
        <div className="wnode-titles">
          <div className="wnode-name">{data.name}</div>
          <div className="wnode-type">{data.typeLabel}</div>
        </div>
      </div>
      {(data.problems > 0 || status || data.pinned || data.diff) && (
        <div className="wnode-badges">
          {data.problems > 0 && (
            <span className="badge danger" title={t("Publishing would refuse this step")}>
              <Icon name="alert" size={12} /> {tn(data.problems, "{count} problem", "{count} problems")}
            </span>
          )}
          {status === "RUNNING" && <span className="badge running">{t("Running…")}</span>}
          {status && status !== "RUNNING" && (
            <span className={`badge ${status === "COMPLETED" ? "success" : status === "SKIPPED" ? "warning" : "danger"}`}>
              <Icon name={status === "COMPLETED" ? "check" : status === "SKIPPED" ? "shield" : "x"} size={12} /> {statusLabel(status)}
            </span>
          )}
          {data.step?.execution_time !== undefined && data.step?.execution_time !== null && (
            <span className="badge neutral">
              <Icon name="clock" size={12} /> {formatDuration(data.step.execution_time)}
            </span>
          )}
          {data.pinned && (
            <span className="badge accent">
              <Icon name="pin" size={12} /> {t("Pinned")}
            </span>
          )}
          {data.diff && data.diff !== "same" && <span className={`badge diff-${data.diff}`}>{data.diff}</span>}
        </div>
      )}
      {data.outputs.map((handle, index) => {
        const left = `${((index + 1) / (count + 1)) * 100}%`;
        const handleId = handle ?? NEXT_HANDLE;
        const open = data.openOutputs.includes(handle);
        return (
          <div key={handleId}>
            <Handle type="source" id={handleId} position={Position.Bottom} style={{ left }} className={`handle-out${handle === "error" ? " handle-error" : ""}`} />
            {handle !== null && (
              <span className={`handle-label${handle === "error" ? " error" : ""}`} style={{ left }}>
                {handle}
              </span>
            )}
            {open && !data.readOnly && (
              <button
                type="button"
                className="add-after nodrag"
                style={{ left }}
                aria-label={handle ? t("Add a step after {name} ({handle})", { name: data.name, handle }) : t("Add a step after {name}", { name: data.name })}
                onClick={(event) => {
                  event.stopPropagation();
                  data.onAddAfter(id, handle);
                }}
              >
                <Icon name="plus" size={12} />
              </button>
            )}
          </div>
        );
      })}
    </div>
  );
});

interface EdgeViewData extends Record<string, unknown> {
  readOnly: boolean;
  route?: XY[];
  onInsert(edgeId: string): void;
}

function WeftEdgeView(props: EdgeProps<Edge<EdgeViewData>>) {
  // The route Tidy up laid, while its ends are where it left them; else a plain curve.
  const laid = routePath(props.data?.route, props.sourceX, props.sourceY, props.targetX, props.targetY);
  const [path, labelX, labelY] = laid ? [laid.path, laid.labelX, laid.labelY] : getBezierPath(props);
  const handle = props.sourceHandleId && props.sourceHandleId !== NEXT_HANDLE ? props.sourceHandleId : null;
  return (
    <>
      <BaseEdge id={props.id} path={path} className={handle === "error" ? "edge-error" : undefined} style={props.style} />
      {!props.data?.readOnly && (
        <EdgeLabelRenderer>
          <button
            type="button"
            className="edge-add nodrag nopan"
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            aria-label={t("Insert a step here")}
            onClick={() => props.data?.onInsert(props.id)}
          >
            <Icon name="plus" size={12} />
          </button>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

const nodeTypes = { weft: WeftNodeView, note: StickyNoteView };
const edgeTypes = { weft: WeftEdgeView };

interface Props {
  graph: Graph;
  types: Record<string, NodeType>;
  apps?: AppStore;
  selection: string[];
  problems: Problem[];
  steps: Record<string, Step>;
  running: boolean;
  pins: Record<string, unknown>;
  diff?: Record<string, DiffChange>;
  readOnly: boolean;
  fitSignal: number;
  focusNode: string | null;
  onSelect(ids: string[]): void;
  onNodeClick(id: string): void;
  onMove(positions: Record<string, XY>): void;
  /** One delete, as one edit: the steps and the connections it takes with it. */
  onRemove(nodeIds: string[], edgeIds: string[]): void;
  onConnect(source: string, handle: string | null, target: string): void;
  onInsertTarget(target: InsertTarget): void;
  /** A change to the sticky notes, as one edit (`key` merges a burst: typing, dragging). */
  onEditNotes?(change: (graph: Graph) => Graph, key: string | null): void;
}

// The overview map (React Flow's default 200×150, 15 px from the corner) sits bottom right. It
// shows only where the canvas has room for it beside the zoom controls (bottom left), and
// fitting the view keeps every step and the "+" under it (up to 60 px below) clear of it.
const MINIMAP_ROOM = { width: 640, height: 400 };
type Px = `${number}px`;
const FIT_EDGE: Px = "40px";
const FIT_BOTTOM: Px = "80px";
const FIT_CLEAR_RIGHT: Px = "240px";
const FIT_CLEAR_BOTTOM: Px = "240px";
const MINIMAP_KEY = "weft.editor.minimap";
const MIN_ZOOM = 0.15;
const FIT_MAX_ZOOM = 1.1;

/** The size each node is drawn at, read from the canvas (what Tidy up lays out). */
export function drawnSizes(): Record<string, { width: number; height: number }> {
  const sizes: Record<string, { width: number; height: number }> = {};
  for (const element of document.querySelectorAll<HTMLElement>(".react-flow__node[data-id]")) {
    sizes[element.dataset.id!] = { width: element.offsetWidth, height: element.offsetHeight };
  }
  return sizes;
}

// Whether a box (canvas pixels) meets the overview map where it is shown: a step added there
// is brought to the middle, its "+" (in the 120 px) with it.
function underMinimap(canvas: Element | null, x: number, y: number, width: number, height: number): boolean {
  const map = canvas?.querySelector<HTMLElement>(".react-flow__minimap");
  if (!canvas || !map || getComputedStyle(map).display === "none") return false;
  const origin = canvas.getBoundingClientRect();
  const box = map.getBoundingClientRect();
  const left = box.left - origin.left;
  const top = box.top - origin.top;
  return x < left + box.width && left < x + width && y < top + box.height && top < y + height;
}

export function Canvas(props: Props) {
  const { graph, types, selection, problems, steps, running, pins, diff, readOnly, fitSignal } = props;
  const flow = useReactFlow();
  const locale = useLocale();
  // Controlled nodes must carry their measured size, or the minimap and fitView see 0×0 boxes.
  const [sizes, setSizes] = useState<Record<string, { width: number; height: number }>>({});
  const canvasWidth = useStore((s) => s.width);
  const canvasHeight = useStore((s) => s.height);
  const [minimapWanted, setMinimapWanted] = useSessionFlag(MINIMAP_KEY, true);
  const minimapRoom = canvasWidth >= MINIMAP_ROOM.width && canvasHeight >= MINIMAP_ROOM.height;
  const minimapShown = minimapWanted && minimapRoom;
  const store = useStoreApi();
  const minimapWantedRef = useRef(minimapWanted);
  minimapWantedRef.current = minimapWanted;

  useEffect(() => {
    const frame = requestAnimationFrame(() => {
      // Read when the fit runs: on the first render the canvas has no size yet.
      const { width: canvasWidth, height: canvasHeight } = store.getState();
      const base = { top: FIT_EDGE, left: FIT_EDGE, right: FIT_EDGE, bottom: FIT_BOTTOM };
      let padding = base;
      if (minimapWantedRef.current && canvasWidth >= MINIMAP_ROOM.width && canvasHeight >= MINIMAP_ROOM.height) {
        // Keep the map's corner free by giving up room on its right or below it, whichever
        // leaves the workflow larger (a tall one gives up width, a wide one height).
        const beside = { ...base, right: FIT_CLEAR_RIGHT };
        const below = { ...base, bottom: FIT_CLEAR_BOTTOM };
        const bounds = getNodesBounds(flow.getNodes());
        const zoom = (p: typeof base) => getViewportForBounds(bounds, canvasWidth, canvasHeight, MIN_ZOOM, FIT_MAX_ZOOM, p).zoom;
        padding = zoom(beside) >= zoom(below) ? beside : below;
      }
      void flow.fitView({ padding, maxZoom: FIT_MAX_ZOOM, duration: 200 });
    });
    return () => cancelAnimationFrame(frame);
  }, [fitSignal, flow, store]); // on request and on first show, not on every resize

  // Bring a newly added step into view (centred only when it is off screen), and give it the
  // keyboard focus: the palette's search keeps none, so the next Ctrl+Z undoes the insert.
  useEffect(() => {
    if (!props.focusNode) return;
    const node = graph.nodes.find((n) => n.id === props.focusNode);
    if (!node) return;
    const id = props.focusNode;
    // A new node stays hidden until React Flow has measured it (a frame or two): try until then.
    let focusFrame = 0;
    const focusIt = (tries: number) => {
      const element = document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(id)}"]`);
      element?.focus({ preventScroll: true });
      if (document.activeElement !== element && tries > 0) focusFrame = requestAnimationFrame(() => focusIt(tries - 1));
    };
    focusIt(20);
    const frame = requestAnimationFrame(() => {
      const { x, y, zoom } = flow.getViewport();
      const dom = document.querySelector(".react-flow");
      const width = dom?.clientWidth ?? 800;
      const height = dom?.clientHeight ?? 600;
      const sx = node.position.x * zoom + x;
      const sy = node.position.y * zoom + y;
      if (sx < 0 || sy < 0 || sx + 240 * zoom > width || sy + 120 * zoom > height || underMinimap(dom, sx, sy, 240 * zoom, 120 * zoom)) {
        void flow.setCenter(node.position.x + 120, node.position.y + 60, { zoom: Math.max(zoom, 0.8), duration: 250 });
      }
    });
    return () => {
      cancelAnimationFrame(frame);
      cancelAnimationFrame(focusFrame);
    };
    // Only when a new step is added, not on every graph change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.focusNode]);

  // Stable callbacks (through a ref) so node and edge objects need not change with the parent.
  const insertTargetRef = useRef(props.onInsertTarget);
  insertTargetRef.current = props.onInsertTarget;
  const onAddAfter = useCallback((source: string, handle: string | null) => insertTargetRef.current({ kind: "end", source, handle }), []);
  const onInsert = useCallback((edgeId: string) => insertTargetRef.current({ kind: "edge", edgeId }), []);

  const selected = useMemo(() => new Set(selection), [selection]);
  // Notes are selected on the canvas only (to move or delete them); the side panel is for steps.
  const [selectedNotes, setSelectedNotes] = useState<Set<string>>(() => new Set());
  const [focusNote, setFocusNote] = useState<string | null>(null);
  const editNotesRef = useRef(props.onEditNotes);
  editNotesRef.current = props.onEditNotes;
  const onNoteText = useCallback((id: string, text: string) => editNotesRef.current?.((g) => updateNote(g, id, { text }), `note:${id}`), []);
  const onNoteRemove = useCallback((id: string) => editNotesRef.current?.((g) => removeNotes(g, [id]), null), []);
  const noteNodes: Node<NoteViewData>[] = useMemo(
    () =>
      (graph.notes ?? []).map((note) => ({
        id: NOTE_PREFIX + note.id,
        type: "note",
        position: note.position,
        measured: { width: note.width ?? 220, height: note.height ?? 140 },
        selected: selectedNotes.has(note.id),
        draggable: !readOnly,
        connectable: false,
        deletable: !readOnly,
        zIndex: -1, // under the steps and edges it comments on
        ariaLabel: `Note: ${note.text.slice(0, 60) || "empty"}`,
        data: {
          noteId: note.id,
          text: note.text,
          color: note.color ?? "yellow",
          width: note.width ?? 220,
          height: note.height ?? 140,
          readOnly,
          focus: focusNote === note.id,
          onText: onNoteText,
          onRemove: onNoteRemove,
        },
      })),
    [graph.notes, selectedNotes, readOnly, focusNote, onNoteText, onNoteRemove],
  );
  const appsVersion = props.apps?.snapshot() ?? 0;
  const problemCount = useMemo(() => {
    const counts: Record<string, number> = {};
    for (const p of problems) if (p.node_id) counts[p.node_id] = (counts[p.node_id] ?? 0) + 1;
    return counts;
  }, [problems]);

  // Node objects are reused while nothing about them changed, so React Flow and the memoised
  // node views skip them: a 150-step workflow re-renders only what moved.
  const cache = useRef(new Map<string, { signature: string; step?: Step; node: Node<NodeViewData> }>());
  const nodes: Node<NodeViewData>[] = useMemo(() => {
    const outgoing = new Map<string, Set<string | null>>();
    for (const e of graph.edges) {
      if (!outgoing.has(e.source)) outgoing.set(e.source, new Set());
      outgoing.get(e.source)!.add(e.sourceHandle ?? null);
    }
    // While a test runs, only the steps next in line pulse: those whose input step has finished
    // along the branch it took.
    const frontier = new Set<string>();
    if (running) {
      for (const node of graph.nodes) if (node.type === "start" && !steps[node.id]) frontier.add(node.id);
      for (const e of graph.edges) {
        const done = steps[e.source];
        if (done && !steps[e.target] && done.node_status !== "FAILED" && (e.sourceHandle === null || e.sourceHandle === done.branch || e.sourceHandle === "body")) frontier.add(e.target);
      }
    }
    const next = new Map<string, { signature: string; step?: Step; node: Node<NodeViewData> }>();
    const result = graph.nodes.map((node) => {
      const nodeType = types[node.type];
      const outputs = outputsOf(node, nodeType);
      const used = outgoing.get(node.id) ?? new Set();
      const openOutputs = outputs.filter((o) => !used.has(o));
      const step = steps[node.id];
      const size = sizes[node.id];
      // An app step shows its app's icon and the action's label ("HubSpot · Create contact").
      const appSlug = node.type === "app_action" && typeof node.data.app === "string" ? node.data.app : null;
      const appInfo = appSlug ? props.apps?.summary(appSlug) : undefined;
      const actionInfo = appInfo?.actions.find((a) => a.name === node.data.action);
      const startApp = node.type === "start" && node.data.trigger === "app" && typeof node.data.app === "string" ? props.apps?.summary(node.data.app) : undefined;
      const typeLabel = appSlug
        ? `${appInfo?.name ?? appSlug} · ${actionInfo?.label ?? String(node.data.action ?? "")}`
        : node.type === "start"
          ? triggerLabel(node.data, startApp)
          : nodeType
            ? nodeTypeLabel(nodeType)
            : node.type;
      const startSlug = node.type === "start" && node.data.trigger === "app" && typeof node.data.app === "string" ? node.data.app : null;
      const app = appSlug
        ? { slug: appSlug, name: appInfo?.name ?? appSlug, icon: appInfo?.icon ?? null }
        : startSlug
          ? { slug: startSlug, name: startApp?.name ?? startSlug, icon: startApp?.icon ?? null }
          : undefined;
      const signature = JSON.stringify([
        node.name, node.type, typeLabel, app, nodeType?.category, outputs, openOutputs,
        problemCount[node.id] ?? 0, frontier.has(node.id), node.id in pins, diff?.[node.id], readOnly,
        selected.has(node.id), node.position.x, node.position.y, size?.width, size?.height,
      ]);
      const cached = cache.current.get(node.id);
      if (cached && cached.signature === signature && cached.step === step) {
        next.set(node.id, cached);
        return cached.node;
      }
      const built: Node<NodeViewData> = {
        id: node.id,
        type: "weft",
        position: node.position,
        measured: size,
        selected: selected.has(node.id),
        draggable: !readOnly,
        connectable: !readOnly,
        deletable: !readOnly && node.type !== "start",
        ariaLabel: `${node.name}, ${typeLabel}`,
        data: {
          name: node.name,
          typeLabel,
          app,
          type: node.type,
          category: nodeType?.category ?? "action",
          outputs,
          openOutputs,
          problems: problemCount[node.id] ?? 0,
          step,
          running: frontier.has(node.id),
          pinned: node.id in pins,
          diff: diff?.[node.id],
          readOnly,
          onAddAfter,
        },
      };
      next.set(node.id, { signature, step, node: built });
      return built;
    });
    cache.current = next;
    return result;
    // appsVersion: the app list or a detail arrived (names, icons, labels).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [graph, types, selected, steps, running, pins, diff, readOnly, problemCount, onAddAfter, sizes, appsVersion, locale]);

  const edges: Edge<EdgeViewData>[] = useMemo(
    () =>
      graph.edges.map((edge) => ({
        id: edge.id,
        source: edge.source,
        target: edge.target,
        sourceHandle: edge.sourceHandle ?? NEXT_HANDLE,
        targetHandle: null,
        type: "weft",
        deletable: !readOnly,
        animated: running && Boolean(steps[edge.source]) && !steps[edge.target],
        data: { readOnly, onInsert, route: edge.route },
        ariaLabel: t("Connection from {from} to {to}", { from: graph.nodes.find((n) => n.id === edge.source)?.name ?? edge.source, to: graph.nodes.find((n) => n.id === edge.target)?.name ?? edge.target }),
      })),
    [graph, readOnly, onInsert, running, steps, locale],
  );

  const allNodes = useMemo(() => [...(noteNodes as Node[]), ...(nodes as Node[])], [noteNodes, nodes]);

  const onNodesChange = useCallback(
    (all: NodeChange<Node>[]) => {
      const notePositions: Record<string, XY> = {};
      let notesSelected: Set<string> | null = null;
      const changes: NodeChange<Node>[] = [];
      for (const change of all) {
        const flowId = "id" in change ? change.id : "";
        if (!isNoteId(flowId)) {
          changes.push(change);
          continue;
        }
        if (change.type === "position" && change.position) notePositions[noteIdOf(flowId)] = change.position;
        if (change.type === "select") {
          notesSelected ??= new Set(selectedNotes);
          if (change.selected) notesSelected.add(noteIdOf(flowId));
          else notesSelected.delete(noteIdOf(flowId));
        }
      }
      if (notesSelected) setSelectedNotes(notesSelected);
      if (Object.keys(notePositions).length && !readOnly) editNotesRef.current?.((g) => moveNotes(g, notePositions), "move");
      const positions: Record<string, XY> = {};
      let selectionChanged = false;
      const nextSelection = new Set(selection);
      const measured: Record<string, { width: number; height: number }> = {};
      for (const change of changes) {
        if (change.type === "dimensions" && change.dimensions) measured[change.id] = change.dimensions;
        if (change.type === "position" && change.position) positions[change.id] = change.position;
        if (change.type === "select") {
          selectionChanged = true;
          if (change.selected) nextSelection.add(change.id);
          else nextSelection.delete(change.id);
        }
      }
      if (Object.keys(measured).length) setSizes((old) => ({ ...old, ...measured }));
      if (Object.keys(positions).length && !readOnly) props.onMove(positions);
      if (selectionChanged) props.onSelect([...nextSelection]);
    },
    [props, selection, readOnly, selectedNotes],
  );

  const addNoteHere = useCallback(() => {
    const dom = document.querySelector(".react-flow")?.getBoundingClientRect();
    const centre = flow.screenToFlowPosition({ x: (dom?.left ?? 0) + (dom?.width ?? 800) / 2, y: (dom?.top ?? 0) + (dom?.height ?? 600) / 3 });
    // The id is chosen here, not inside the edit: React may run the edit later.
    const id = freshNoteId(graph);
    editNotesRef.current?.((g) => addNote(g, { x: Math.round(centre.x - 110), y: Math.round(centre.y - 70) }, "", id).graph, null);
    setFocusNote(id);
  }, [flow, graph]);

  // Removals arrive as edge changes then node changes; taken from onDelete instead, which has
  // both, so one press of Delete is one undo step and no half-deleted graph is ever autosaved.
  const onEdgesChange = useCallback((_changes: EdgeChange<Edge<EdgeViewData>>[]) => undefined, []);

  const onDelete = useCallback(
    ({ nodes: gone, edges: cut }: { nodes: Node[]; edges: Edge[] }) => {
      if (readOnly) return;
      const notes = gone.filter((n) => isNoteId(n.id)).map((n) => noteIdOf(n.id));
      if (notes.length) editNotesRef.current?.((g) => removeNotes(g, notes), null);
      const steps = gone.filter((n) => !isNoteId(n.id));
      if (steps.length || cut.length) props.onRemove(steps.map((n) => n.id), cut.map((e) => e.id));
    },
    [props, readOnly],
  );

  const onConnect = useCallback(
    (connection: Connection) => {
      if (readOnly) return;
      const handle = connection.sourceHandle && connection.sourceHandle !== NEXT_HANDLE ? connection.sourceHandle : null;
      props.onConnect(connection.source, handle, connection.target);
    },
    [props, readOnly],
  );

  return (
    <ReactFlow
      nodes={allNodes}
      edges={edges}
      nodeTypes={nodeTypes}
      edgeTypes={edgeTypes}
      onNodesChange={onNodesChange}
      onEdgesChange={onEdgesChange}
      onDelete={onDelete}
      onConnect={onConnect}
      onNodeClick={(_, node) => !isNoteId(node.id) && props.onNodeClick(node.id)}
      deleteKeyCode={readOnly ? null : ["Backspace", "Delete"]}
      multiSelectionKeyCode={["Meta", "Control", "Shift"]}
      selectionKeyCode="Shift"
      minZoom={MIN_ZOOM}
      maxZoom={2}
      proOptions={{ hideAttribution: true }}
      nodesFocusable
      edgesFocusable={!readOnly}
      ariaLabelConfig={{ "node.a11yDescription.default": t("Press Enter to select this step, Delete to remove it, arrow keys to move it.") }}
      aria-label={t("Workflow canvas")}
      className={minimapShown ? undefined : "minimap-off"}
    >
      <Background gap={20} size={1.2} color="var(--grid)" />
      <MiniMap pannable zoomable ariaLabel={t("Overview of the workflow")} bgColor="var(--surface)" nodeColor="var(--minimap-node)" nodeStrokeColor="var(--line)" maskColor="var(--minimap-mask)" />
      <Controls showInteractive={false} aria-label={t("Zoom controls")}>
        {minimapRoom && (
          <ControlButton
            className="minimap-toggle"
            onClick={() => setMinimapWanted(!minimapWanted)}
            aria-pressed={minimapWanted}
            aria-label={minimapWanted ? t("Hide the overview map") : t("Show the overview map")}
            title={minimapWanted ? t("Hide the overview map") : t("Show the overview map")}
          >
            <Icon name="map" />
          </ControlButton>
        )}
      </Controls>
      {!readOnly && props.onEditNotes && (
        <Panel position="top-right">
          <button type="button" className="btn small add-note" onClick={addNoteHere} aria-label={t("Add note")} title={t("Add a sticky note (it never runs)")}>
            <Icon name="note" size={14} />
            <span className="add-note-text"> {t("Add note")}</span>
          </button>
        </Panel>
      )}
    </ReactFlow>
  );
}
