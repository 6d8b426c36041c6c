// The canvas: React Flow showing the draft (or a read-only run / diff), with labelled branch
// handles, "+" on edges and open branch ends, badges, minimap, and keyboard shortcuts.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  BaseEdge,
  Controls,
  EdgeLabelRenderer,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  getBezierPath,
  useReactFlow,
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
  onInsert(edgeId: string): void;
}

function WeftEdgeView(props: EdgeProps<Edge<EdgeViewData>>) {
  const [path, labelX, labelY] = getBezierPath(props);
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

const nodeTypes = { weft: WeftNodeView };
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
}

export function Canvas(props: Props) {
  const { graph, types, selection, problems, steps, running, pins, diff, readOnly, fitSignal } = props;
  const flow = useReactFlow();
  const locale = useLocale();
  // Controlled nodes must carry their measured size, or the minimap and fitView see 0×0 boxes.
  const [sizes, setSizes] = useState<Record<string, { width: number; height: number }>>({});

  useEffect(() => {
    const frame = requestAnimationFrame(() => void flow.fitView({ padding: 0.2, maxZoom: 1.1, duration: 200 }));
    return () => cancelAnimationFrame(frame);
  }, [fitSignal, flow]);

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
      if (sx < 0 || sy < 0 || sx + 240 * zoom > width || sy + 120 * zoom > height) {
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
        data: { readOnly, onInsert },
        ariaLabel: t("Connection from {from} to {to}", { from: graph.nodes.find((n) => n.id === edge.source)?.name ?? edge.source, to: graph.nodes.find((n) => n.id === edge.target)?.name ?? edge.target }),
      })),
    [graph, readOnly, onInsert, running, steps, locale],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<Node<NodeViewData>>[]) => {
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
    [props, selection, readOnly],
  );

  // Removals arrive as edge changes then node changes; taken from onDelete instead, which has
  // both, so one press of Delete is one undo step and no half-deleted graph is ever autosaved.
  const onEdgesChange = useCallback((_changes: EdgeChange<Edge<EdgeViewData>>[]) => undefined, []);

  const onDelete = useCallback(
    ({ nodes: gone, edges: cut }: { nodes: Node[]; edges: Edge[] }) => {
      if (!readOnly) props.onRemove(gone.map((n) => n.id), cut.map((e) => e.id));
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
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      edgeTypes={edgeTypes}
      onNodesChange={onNodesChange}
      onEdgesChange={onEdgesChange}
      onDelete={onDelete}
      onConnect={onConnect}
      onNodeClick={(_, node) => props.onNodeClick(node.id)}
      deleteKeyCode={readOnly ? null : ["Backspace", "Delete"]}
      multiSelectionKeyCode={["Meta", "Control", "Shift"]}
      selectionKeyCode="Shift"
      minZoom={0.15}
      maxZoom={2}
      proOptions={{ hideAttribution: true }}
      nodesFocusable
      edgesFocusable={!readOnly}
      ariaLabelConfig={{ "node.a11yDescription.default": t("Press Enter to select this step, Delete to remove it, arrow keys to move it.") }}
      aria-label={t("Workflow canvas")}
    >
      <Background gap={20} size={1.2} color="var(--grid)" />
      <MiniMap pannable zoomable ariaLabel={t("Overview of the workflow")} bgColor="var(--surface)" nodeColor="var(--minimap-node)" nodeStrokeColor="var(--line)" maskColor="var(--minimap-mask)" />
      <Controls showInteractive={false} aria-label={t("Zoom controls")} />
    </ReactFlow>
  );
}
