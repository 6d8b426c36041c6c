// The editor: top bar (save state, undo/redo, layout, publish), palette, canvas, side panel.
import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import { flushSync } from "react-dom";
import type { Api } from "./lib/api";
import type { HostChannel } from "./lib/embed";
import type { AppActionInfo, AppInfo, Execution, Graph, NodeType, Problem, Step, WeftNode } from "./lib/types";
import { useApps } from "./state/apps";
import { appendAfter, copySelection, freeSpot, insertOnEdge, makeNode, moveNodes, outputsOf, pasteInto, removeNodes, renameNode, updateNode, connect, disconnect } from "./model/graph";
import { diffGraphs } from "./model/diff";
import { normalise, useEditor, type SaveState } from "./state/useEditor";
import { Canvas, drawnSizes, type InsertTarget } from "./components/Canvas";
import { Palette } from "./components/Palette";
import { RunsPanel, VersionsPanel } from "./components/HistoryPanels";
import { VersionDiff } from "./components/VersionDiff";
import { PausedBanner } from "./components/PausedBanner";
import { Dialog } from "./components/Dialog";
import { ReplayDialog } from "./components/ReplayDialog";
import { Icon } from "./components/Icons";
import { problemText } from "./lib/problems";
import { ErrorNote } from "./components/ErrorNote";
import { OverflowMenu } from "./components/OverflowMenu";
import { usePanels } from "./state/panels";
import { TemplateEntry } from "./components/TemplateGallery";
import { TemplateStart } from "./TemplateStart";
import type { Draft, TemplateInfo } from "./lib/types";
import { formatDate, msg, statusText, t, tn, useLocale } from "./i18n";

// CodeMirror and the layout engine load after the canvas is up: they are not needed to show it.
const NodePanel = lazy(() => import("./components/NodePanel").then((m) => ({ default: m.NodePanel })));
const TestPanel = lazy(() => import("./components/TestPanel").then((m) => ({ default: m.TestPanel })));
// Only when a step waits for a connection (it brings the connect forms along).
const ConnectPrompt = lazy(() => import("./components/ConnectPrompt").then((m) => ({ default: m.ConnectPrompt })));

type Tab = "node" | "test" | "runs" | "versions";
type View = { kind: "draft" } | { kind: "run"; run: Execution; graph: Graph; steps: Record<string, Step> } | { kind: "diff"; version: number; graph: Graph };

// Each entry: the keys (alternatives) and what they do. On a Mac, Ctrl is Cmd.
const SHORTCUTS: [string[], string][] = [
  [["/"], msg("Search the steps to add")],
  [["Ctrl+Z"], msg("Undo")],
  [["Ctrl+Shift+Z", "Ctrl+Y"], msg("Redo")],
  [["Ctrl+A"], msg("Select every step")],
  [["Ctrl+C", "Ctrl+V"], msg("Copy, paste the selected steps")],
  [["Delete", "Backspace"], msg("Remove the selected steps")],
  [["Tab"], msg("Move between steps; Enter selects the focused one")],
  [[msg("Arrow keys")], msg("Move the focused step")],
  [["Escape"], msg("Close a dialog or a menu; stop choosing where to add")],
  [["?"], msg("Show this list")],
];

const SAVE_LABEL: Record<SaveState, string> = {
  saved: msg("All changes saved"),
  unsaved: msg("Unsaved changes"),
  saving: msg("Saving…"),
  offline: msg("Offline — your changes are kept and saved when the connection is back"),
  auth: msg("Session ended — your changes are kept and saved when it resumes"),
  error: msg("Could not save — your changes are kept, retrying"),
  conflict: msg("Someone else changed this draft"),
};

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)));
}

/** `onOpenWorkflow`: a workflow was created from the gallery; the editor switches to it. */
export function App({ api, host, onOpenWorkflow }: { api: Api; host: HostChannel; onOpenWorkflow?(draft: Draft, template: TemplateInfo | string | null): void }) {
  const locale = useLocale();
  const editor = useEditor(api, host);
  const [gallery, setGallery] = useState(false);
  const [selection, setSelection] = useState<string[]>([]);
  const [insertTarget, setInsertTarget] = useState<InsertTarget | null>(null);
  const [tab, setTab] = useState<Tab>("node");
  const [view, setView] = useState<View>({ kind: "draft" });
  const [fitSignal, setFitSignal] = useState(0);
  const [focusNode, setFocusNode] = useState<string | null>(null);
  const [showTestData, setShowTestData] = useState(false);
  const [payloadText, setPayloadText] = useState("");
  // Held-back writes chosen (in the test panel, or from a step's panel) to run for real next.
  const [forReal, setForReal] = useState<string[]>([]);
  const [publishProblems, setPublishProblems] = useState<Problem[] | null>(null);
  const [replayOpen, setReplayOpen] = useState(false);
  const [confirm, setConfirm] = useState<{ title: string; body: string; action: string; run(): Promise<void> } | null>(null);
  const [toast, setToast] = useState<{ text: string; tone: "success" } | null>(null);
  // Errors stay until dismissed: they are read, copied and passed on, not glimpsed.
  const [failure, setFailure] = useState<{ title: string; error: unknown } | null>(null);
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  const [panels, setPanels] = usePanels();
  const [versionsKey, setVersionsKey] = useState(0);
  const paletteRef = useRef<HTMLInputElement>(null);
  const readySent = useRef(false);
  const { graph, nodeTypesByName: types } = editor;
  const appsStore = useApps(api);

  useEffect(() => {
    if (editor.draft && !readySent.current) {
      readySent.current = true;
      host.send("ready", { workflowId: editor.draft.associated_workflow });
      setFitSignal((n) => n + 1);
      // Warm the panels' chunk once the canvas is interactive, so the first click is instant.
      window.setTimeout(() => void import("./components/NodePanel"), 300);
    }
  }, [editor.draft, host]);

  useEffect(() => {
    if (!toast) return;
    const handle = window.setTimeout(() => setToast(null), 4000);
    return () => window.clearTimeout(handle);
  }, [toast]);

  const readOnly = view.kind !== "draft";
  const shownGraph: Graph = useMemo(() => {
    if (view.kind === "run") return view.graph;
    if (view.kind === "diff") {
      const present = new Set(graph.nodes.map((n) => n.id));
      return { nodes: [...graph.nodes, ...view.graph.nodes.filter((n) => !present.has(n.id))], edges: graph.edges, notes: graph.notes };
    }
    return graph;
  }, [view, graph]);
  const diff = useMemo(() => (view.kind === "diff" ? diffGraphs(view.graph, graph) : null), [view, graph]);
  const steps = view.kind === "run" ? view.steps : editor.run.steps;

  const selectedNode: WeftNode | undefined = selection.length === 1 ? shownGraph.nodes.find((n) => n.id === selection[0]) : undefined;

  const targetLabel = useMemo(() => {
    if (view.kind !== "draft") return t("Read-only: go back to the draft to edit");
    if (insertTarget?.kind === "edge") {
      const edge = graph.edges.find((e) => e.id === insertTarget.edgeId);
      const from = graph.nodes.find((n) => n.id === edge?.source)?.name;
      const to = graph.nodes.find((n) => n.id === edge?.target)?.name;
      return t("Inserting between {from} and {to}", { from: from ?? "", to: to ?? "" });
    }
    if (insertTarget?.kind === "end") {
      const from = graph.nodes.find((n) => n.id === insertTarget.source)?.name;
      return insertTarget.handle ? t("Adding after {from} ({handle})", { from: from ?? "", handle: insertTarget.handle }) : t("Adding after {from}", { from: from ?? "" });
    }
    if (selectedNode && outputsOf(selectedNode, types[selectedNode.type]).length > 0) return t("Adding after {from}", { from: selectedNode.name });
    return t("Pick a step to add it");
  }, [insertTarget, graph, selectedNode, types, view.kind, locale]);

  const focusPalette = useCallback(() => {
    // Rendered and focused before this handler returns: keys typed right after "/" land in the
    // search (focusing a frame later lost them on a busy machine).
    flushSync(() => setPanels({ palette: true }));
    paletteRef.current?.focus();
  }, [setPanels]);

  const chooseTarget = useCallback(
    (target: InsertTarget) => {
      setInsertTarget(target);
      focusPalette();
    },
    [focusPalette],
  );

  const insert = useCallback(
    (nodeType: NodeType, preset?: { name: string; data: Record<string, unknown> }) => {
      const g = graph;
      let target = insertTarget;
      if (!target) {
        const selectedWithOutputs = selectedNode && outputsOf(selectedNode, types[selectedNode.type]).length > 0 ? selectedNode : undefined;
        const from = selectedWithOutputs ?? [...g.nodes].reverse().find((n) => outputsOf(n, types[n.type]).some((o) => !g.edges.some((e) => e.source === n.id && (e.sourceHandle ?? null) === o)));
        if (from) {
          const outputs = outputsOf(from, types[from.type]);
          const open = outputs.find((o) => !g.edges.some((e) => e.source === from.id && (e.sourceHandle ?? null) === o));
          if (open !== undefined) target = { kind: "end", source: from.id, handle: open };
          else if (outputs.length) {
            const edge = g.edges.find((e) => e.source === from.id && (e.sourceHandle ?? null) === outputs[0]);
            if (edge) target = { kind: "edge", edgeId: edge.id };
          }
        }
      }
      let next: Graph;
      let node: WeftNode;
      if (target?.kind === "edge") {
        const edge = g.edges.find((e) => e.id === target.edgeId);
        const source = g.nodes.find((n) => n.id === edge?.source);
        const dest = g.nodes.find((n) => n.id === edge?.target);
        if (!edge || !source || !dest) return;
        node = makeNode(g, nodeType, { x: dest.position.x, y: dest.position.y });
        const shifted = moveNodes(
          g,
          Object.fromEntries(g.nodes.filter((n) => n.position.y >= dest.position.y - 1).map((n) => [n.id, { x: n.position.x, y: n.position.y + 140 }])),
        );
        next = insertOnEdge(shifted, edge, node, nodeType);
      } else if (target?.kind === "end") {
        const source = g.nodes.find((n) => n.id === target.source);
        if (!source) return;
        const outputs = outputsOf(source, types[source.type]);
        const index = outputs.indexOf(target.handle);
        const spread = outputs.length > 1 ? (index - (outputs.length - 1) / 2) * 280 : 0;
        node = makeNode(g, nodeType, freeSpot(g, { x: source.position.x + spread, y: source.position.y + 140 }));
        next = appendAfter(g, source.id, target.handle, node);
      } else {
        const lowest = Math.max(0, ...g.nodes.map((n) => n.position.y));
        node = makeNode(g, nodeType, { x: 0, y: lowest + 140 });
        next = { ...g, nodes: [...g.nodes, node] };
      }
      if (preset) {
        const named = renameNode(next, node.id, preset.name);
        next = updateNode(named, node.id, { data: preset.data });
      }
      editor.edit(next);
      setSelection([node.id]);
      setInsertTarget(null);
      setTab("node");
      setFocusNode(node.id);
    },
    [graph, insertTarget, selectedNode, types, editor],
  );

  const insertAction = useCallback(
    (app: AppInfo, action: AppActionInfo) => {
      const nodeType = types["app_action"];
      if (!nodeType) return;
      void appsStore.loadDetail(app.slug).catch(() => undefined);
      insert(nodeType, { name: action.label, data: { app: app.slug, action: action.name, params: {} } });
    },
    [insert, types],
  );

  const runTest = useCallback(
    (payload: unknown, runForReal: string[] | "all" = []) => {
      setTab("test");
      setPanels({ side: true });
      setForReal([]);
      void editor.startTest(payload, runForReal);
    },
    [editor, setPanels],
  );

  // A step's "Run for real" chooses it in the test panel's list rather than sending it alone:
  // a write that needs an earlier held-back write's answer is chosen together with it there.
  const chooseForReal = useCallback((nodeId: string) => {
    setForReal((ids) => (ids.includes(nodeId) ? ids : [...ids, nodeId]));
    setTab("test");
    setPanels({ side: true });
  }, [setPanels]);

  const publish = useCallback(async () => {
    const result = await editor.publish();
    if (result.version) {
      setToast({ text: t("Published version {version}", { version: result.version }), tone: "success" });
      setVersionsKey((k) => k + 1);
    } else if (result.problems) setPublishProblems(result.problems);
    else setFailure({ title: t("Not published."), error: result.error ?? t("Could not publish") });
  }, [editor]);

  const openRun = useCallback(
    async (run: Execution) => {
      try {
        const full = await api.execution(run._id);
        const version = full.workflow_version;
        const snapshot = !full.is_test && version ? await api.version(version) : graph;
        const runSteps: Record<string, Step> = {};
        for (const step of full.nodes ?? []) runSteps[step.node_id] = step;
        setView({ kind: "run", run: full, graph: normalise(snapshot), steps: runSteps });
        setSelection([]);
        setFitSignal((n) => n + 1);
      } catch (error) {
        setFailure({ title: t("Could not open the run."), error });
      }
    },
    [api, graph],
  );

  const replay = useCallback(
    (run: Execution) => {
      setView({ kind: "draft" });
      const text = JSON.stringify(run.payload ?? {}, null, 2);
      setPayloadText(text);
      runTest(run.payload ?? {});
    },
    [runTest],
  );

  const compare = useCallback(
    async (version: number | null) => {
      if (version === null) return setView({ kind: "draft" });
      try {
        const snapshot = await api.version(version);
        setView({ kind: "diff", version, graph: normalise(snapshot) });
        setFitSignal((n) => n + 1);
      } catch (error) {
        setFailure({ title: t("Could not load version {version}.", { version }), error });
      }
    },
    [api],
  );

  // Keyboard shortcuts and clipboard (native copy/paste events need no permission prompt).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.metaKey || event.ctrlKey;
      if (event.key === "Escape") setInsertTarget(null);
      if (isTyping(event.target)) return;
      if (event.key === "/" && !mod) {
        event.preventDefault();
        focusPalette();
      } else if (event.key === "?" && !mod) {
        event.preventDefault();
        setShortcutsOpen(true);
      } else if (mod && event.key.toLowerCase() === "a" && !event.shiftKey) {
        // Every step, as a rubber band over all of them would (not the page's text).
        event.preventDefault();
        setSelection(shownGraph.nodes.map((n) => n.id));
      } else if (mod && event.key.toLowerCase() === "z" && !readOnly) {
        event.preventDefault();
        if (event.shiftKey) editor.redo();
        else editor.undo();
      } else if (mod && event.key.toLowerCase() === "y" && !readOnly) {
        event.preventDefault();
        editor.redo();
      }
    };
    const onCopy = (event: ClipboardEvent) => {
      if (isTyping(event.target) || selection.length === 0) return;
      event.clipboardData?.setData("text/plain", copySelection(shownGraph, selection));
      event.preventDefault();
      setToast({ text: tn(selection.length, "Copied {count} step", "Copied {count} steps"), tone: "success" });
    };
    const onPaste = (event: ClipboardEvent) => {
      if (isTyping(event.target) || readOnly) return;
      const pasted = pasteInto(graph, event.clipboardData?.getData("text/plain") ?? "");
      if (!pasted) return;
      event.preventDefault();
      editor.edit(pasted.graph);
      setSelection(pasted.pasted);
    };
    window.addEventListener("keydown", onKey);
    document.addEventListener("copy", onCopy);
    document.addEventListener("paste", onPaste);
    return () => {
      window.removeEventListener("keydown", onKey);
      document.removeEventListener("copy", onCopy);
      document.removeEventListener("paste", onPaste);
    };
  }, [editor, graph, shownGraph, selection, readOnly, focusPalette]);

  if (editor.loadError) {
    return <ErrorScreen title={t("This workflow could not be opened")} error={editor.loadError} />;
  }
  if (!editor.draft) {
    return (
      <div className="loading" role="status" aria-live="polite">
        <div className="spinner" aria-hidden="true" /> {t("Opening the editor…")}
      </div>
    );
  }

  const totalProblems = editor.problems.length;
  const tidy = async () => {
    try {
      const { autoLayout, applyLayout } = await import("./model/layout");
      const layout = await autoLayout(graph, types, drawnSizes());
      editor.edit((g) => applyLayout(g, layout));
      setFitSignal((n) => n + 1);
    } catch (error) {
      // The layout engine did not load (a dropped connection, a new release meanwhile).
      setFailure({ title: t("Could not tidy up the layout."), error });
    }
  };
  const askDiscard = () =>
    setConfirm({
      title: t("Discard the draft?"),
      body: t("Your changes since the last publish are thrown away and the editor shows the live version again."),
      action: t("Discard draft"),
      run: async () => {
        await editor.discard();
        setToast({ text: t("Draft discarded"), tone: "success" });
      },
    });
  return (
    <div className="app">
      <header className="topbar">
        <div className="title">
          <h1>{editor.draft.name}</h1>
          <span className={`save-state ${editor.saveState}`} role="status" aria-live="polite" data-testid="save-state" title={editor.saveError ?? undefined}>
            <span className="dot" aria-hidden="true" />
            {t(SAVE_LABEL[editor.saveState])}
          </span>
        </div>
        <div className="toolbar" role="toolbar" aria-label={t("Canvas")}>
          <button type="button" className="icon-btn" onClick={() => setPanels({ palette: !panels.palette })} aria-pressed={panels.palette} aria-controls={panels.palette ? "palette" : undefined} aria-label={t("Steps to add")} title={t("Show or hide the steps to add")}>
            <Icon name="panel-left" />
          </button>
          <span className="sep wide-only" />
          <button type="button" className="icon-btn wide-only" onClick={editor.undo} disabled={!editor.canUndo || readOnly} aria-label={t("Undo")} title={t("Undo (Ctrl+Z)")}>
            <Icon name="undo" />
          </button>
          <button type="button" className="icon-btn wide-only" onClick={editor.redo} disabled={!editor.canRedo || readOnly} aria-label={t("Redo")} title={t("Redo (Ctrl+Shift+Z)")}>
            <Icon name="redo" />
          </button>
          <span className="sep wide-only" />
          <button type="button" className="icon-btn wide-only" disabled={readOnly} onClick={() => void tidy()} aria-label={t("Tidy up the layout")} title={t("Tidy up the layout")}>
            <Icon name="layout" />
          </button>
          <button type="button" className="icon-btn wide-only" onClick={() => setFitSignal((n) => n + 1)} aria-label={t("Fit the workflow in view")} title={t("Fit view")}>
            <Icon name="fit" />
          </button>
          <OverflowMenu
            items={[
              { label: t("Undo"), onSelect: editor.undo, disabled: !editor.canUndo || readOnly, narrowOnly: true },
              { label: t("Redo"), onSelect: editor.redo, disabled: !editor.canRedo || readOnly, narrowOnly: true },
              { label: t("Tidy up the layout"), onSelect: () => void tidy(), disabled: readOnly, narrowOnly: true },
              { label: t("Fit the workflow in view"), onSelect: () => setFitSignal((n) => n + 1), narrowOnly: true },
              { label: t("Discard the draft…"), onSelect: askDiscard, narrowOnly: true },
              ...(editor.draft.current_version > 0 ? [{ label: t("What changes if I publish…"), onSelect: () => setReplayOpen(true), narrowOnly: true }] : []),
              { label: panels.side ? t("Hide the details panel") : t("Show the details panel"), onSelect: () => setPanels({ side: !panels.side }) },
              { label: t("Keyboard shortcuts"), onSelect: () => setShortcutsOpen(true) },
            ]}
          />
          <button type="button" className="icon-btn" onClick={() => setPanels({ side: !panels.side })} aria-pressed={panels.side} aria-controls={panels.side ? "details" : undefined} aria-label={t("Details panel")} title={t("Show or hide the details panel")}>
            <Icon name="panel-right" />
          </button>
        </div>
        <div className="actions">
          {editor.draft.current_version > 0 && <span className="muted live-version wide-only">{t("Live: version {version}", { version: editor.draft.current_version })}</span>}
          <button type="button" className="btn ghost wide-only" onClick={askDiscard}>
            {t("Discard")}
          </button>
          <button type="button" className="btn" onClick={() => runTest(safeJson(payloadText))}>
            <Icon name="play" size={14} /> {t("Test")}
          </button>
          {editor.draft.current_version > 0 && (
            <button type="button" className="btn ghost wide-only" onClick={() => setReplayOpen(true)} title={t("What changes if I publish: replay recent live runs through this draft and see which steps would answer differently")}>
              {/* The name must not contain "Publish": the Publish button is found by its name. */}
              {t("What changes?")}
            </button>
          )}
          <button type="button" className="btn primary" onClick={() => void publish()}>
            {t("Publish")}{totalProblems > 0 ? ` · ${tn(totalProblems, "{count} problem", "{count} problems")}` : ""}
          </button>
        </div>
      </header>

      <main className={`workspace${panels.palette ? "" : " no-palette"}${panels.side ? "" : " no-side"}`}>
        {panels.palette && <Palette ref={paletteRef} nodeTypes={editor.nodeTypes} apps={appsStore.apps()} targetLabel={targetLabel} onPick={(t) => insert(t)} onPickAction={insertAction} disabled={readOnly} />}
        <div className="canvas-wrap">
          {view.kind === "draft" && (
            <PausedBanner
              api={api}
              onOpenRun={(id) => void openRun({ _id: id } as Execution)}
              onResumed={() => setToast({ text: t("Resumed: its triggers run again"), tone: "success" })}
            />
          )}
          {view.kind !== "draft" && (
            <div className="banner" role="status">
              {view.kind === "run" ? (
                <>
                  <span>
                    <strong>{t("Viewing a run")}</strong> · {statusText(view.run.status)} · <span data-testid="run-date">{formatDate(view.run.createdAt)}</span> · {t("read-only")}
                  </span>
                  <button type="button" className="btn small" onClick={() => replay(view.run)}>
                    {t("Replay this payload against the draft")}
                  </button>
                </>
              ) : (
                <span>
                  <strong>{t("Draft compared with version {version}", { version: view.version })}</strong> · {t("{added} added · {changed} changed · {removed} removed", { added: diff?.added ?? 0, changed: diff?.changed ?? 0, removed: diff?.removed ?? 0 })}
                </span>
              )}
              <button type="button" className="btn small ghost" onClick={() => setView({ kind: "draft" })}>
                {t("Back to the draft")}
              </button>
            </div>
          )}
          <ReactFlowProvider>
            <Canvas
              graph={shownGraph}
              types={types}
              apps={appsStore}
              selection={selection}
              problems={view.kind === "draft" ? editor.problems : []}
              steps={steps}
              running={view.kind === "draft" && editor.run.status === "running"}
              pins={editor.pins}
              diff={diff?.nodes}
              readOnly={readOnly}
              fitSignal={fitSignal}
              focusNode={focusNode}
              onSelect={(ids) => {
                setSelection(ids);
                setShowTestData(view.kind === "run");
                // In a run, a click is to read that step's data; while comparing versions, stay put.
                if (ids.length === 1) setTab((t) => (view.kind === "run" ? "node" : t === "runs" || t === "versions" ? t : "node"));
              }}
              onNodeClick={() => setTab((t) => (view.kind === "run" ? "node" : t === "runs" || t === "versions" ? t : "node"))}
              onMove={(positions) => editor.edit((g) => moveNodes(g, positions), "move")}
              onRemove={(nodeIds, edgeIds) => {
                const removable = nodeIds.filter((id) => graph.nodes.find((n) => n.id === id)?.type !== "start");
                editor.edit((g) => removeNodes(disconnect(g, edgeIds), removable));
                if (removable.length) setSelection([]);
              }}
              onConnect={(source, handle, target) => editor.edit((g) => connect(g, source, handle, target))}
              onInsertTarget={chooseTarget}
              onEditNotes={view.kind === "draft" ? (change, key) => editor.edit(change, key) : undefined}
            />
          </ReactFlowProvider>
          {/* Not while a step's own panel is open: it offers the same Connect for its app. */}
          {view.kind === "draft" && !(tab === "node" && selection.length > 0) && editor.problems.some((p) => p.code === "CONNECTION_REQUIRED") && (
            <Suspense fallback={null}>
              <ConnectPrompt api={api} apps={appsStore} graph={graph} problems={editor.problems} onConnected={() => void editor.refreshProblems()} />
            </Suspense>
          )}
          {view.kind === "draft" && onOpenWorkflow && graph.nodes.length <= 1 && graph.edges.length === 0 && <TemplateEntry api={api} onOpen={() => setGallery(true)} />}
          {gallery && onOpenWorkflow && <TemplateStart api={api} layered onCreated={onOpenWorkflow} onFailed={() => undefined} onClose={() => setGallery(false)} />}
          {toast && (
            <div className={`toast ${toast.tone}`} role="status">
              {toast.text}
            </div>
          )}
          {failure && (
            <div className="failure">
              <ErrorNote error={failure.error} title={failure.title} />
              <button type="button" className="icon-btn failure-close" aria-label={t("Dismiss this error")} onClick={() => setFailure(null)}>
                <Icon name="x" size={14} />
              </button>
            </div>
          )}
        </div>
        {panels.side && (
        <aside className="side" id="details" aria-label={t("Details")}>
          <div className="tabs" role="tablist" aria-label={t("Panels")}>
            {(["node", "test", "runs", "versions"] as const).map((name) => (
              <button key={name} type="button" role="tab" id={`tab-${name}`} aria-selected={tab === name} aria-controls="side-panel" className={tab === name ? "active" : ""} onClick={() => setTab(name)}>
                {name === "node" ? t("Step") : name === "test" ? t("Test") : name === "runs" ? t("Runs") : t("Versions")}
              </button>
            ))}
          </div>
          <div id="side-panel" role="tabpanel" aria-labelledby={`tab-${tab}`} className="side-scroll">
            <Suspense fallback={<div className="panel-body muted">{t("Loading…")}</div>}>
            {tab === "node" &&
              (selectedNode ? (
                <NodePanel
                  key={selectedNode.id}
                  api={api}
                  graph={shownGraph}
                  node={selectedNode}
                  nodeType={types[selectedNode.type]}
                  types={types}
                  problems={view.kind === "draft" ? editor.problems : []}
                  steps={steps}
                  pinned={selectedNode.id in editor.pins}
                  pinnedValue={editor.pins[selectedNode.id]}
                  readOnly={readOnly}
                  saved={editor.saveState === "saved"}
                  webhook={{ path: editor.draft?.webhook_path, live: editor.draft?.webhook_live }}
                  onRename={(name) => editor.edit((g) => renameNode(g, selectedNode.id, name), `name:${selectedNode.id}`)}
                  onData={(data) => editor.edit((g) => updateNode(g, selectedNode.id, { data }), `data:${selectedNode.id}`)}
                  onPin={(output) =>
                    editor.setPins((p) => {
                      const copy = { ...p };
                      if (output === undefined) delete copy[selectedNode.id];
                      else copy[selectedNode.id] = output;
                      return copy;
                    })
                  }
                  onStep={editor.setStep}
                  onConnected={() => void editor.refreshProblems()}
                  onRunForReal={chooseForReal}
                  showTestData={showTestData}
                />
              ) : (
                <div className="panel-body empty-state">
                  <p>
                    <strong>{selection.length > 1 ? t("{count} steps selected", { count: selection.length }) : t("Select a step to configure it.")}</strong>
                  </p>
                  <p className="muted">
                    {t("Add steps from the list on the left (press / to search), or with + on a connection or under a step.")} {t("Copy and paste steps with Ctrl+C / Ctrl+V. Press ? for every keyboard shortcut.")}
                  </p>
                  {totalProblems > 0 && <ProblemList problems={editor.problems} graph={graph} onGo={(id) => setSelection([id])} />}
                </div>
              ))}
            {tab === "test" && (
              <TestPanel
                api={api}
                graph={graph}
                run={editor.run}
                payloadText={payloadText}
                setPayloadText={setPayloadText}
                pins={editor.pins}
                onRun={runTest}
                onOpenStep={(id) => {
                  setSelection([id]);
                  setShowTestData(true);
                  setTab("node");
                }}
                forReal={forReal}
                setForReal={setForReal}
              />
            )}
            {tab === "runs" && <RunsPanel api={api} onOpen={(run) => void openRun(run)} onReplay={replay} openId={view.kind === "run" ? view.run._id : null} />}
            {tab === "versions" && (
              <VersionsPanel
                api={api}
                currentVersion={editor.draft.current_version}
                comparing={view.kind === "diff" ? view.version : null}
                refreshKey={versionsKey}
                details={view.kind === "diff" ? <VersionDiff before={view.graph} after={graph} onGo={(id) => setSelection([id])} /> : undefined}
                onCompare={(v) => void compare(v)}
                onRestore={(v) =>
                  setConfirm({
                    title: t("Restore version {version}?", { version: v }),
                    body: t("The draft is replaced by version {version}. The live workflow does not change until you publish.", { version: v }),
                    action: t("Restore into draft"),
                    run: async () => {
                      await editor.restore(v);
                      setView({ kind: "draft" });
                      setFitSignal((n) => n + 1);
                      setToast({ text: t("Version {version} restored into the draft", { version: v }), tone: "success" });
                    },
                  })
                }
              />
            )}
            </Suspense>
          </div>
        </aside>
        )}
      </main>

      <ReplayDialog api={api} open={replayOpen} onClose={() => setReplayOpen(false)} beforeStart={editor.flush} />

      <Dialog
        title={t("Keyboard shortcuts")}
        open={shortcutsOpen}
        onClose={() => setShortcutsOpen(false)}
        actions={
          <button type="button" className="btn primary" onClick={() => setShortcutsOpen(false)}>
            {t("Close")}
          </button>
        }
      >
        <dl className="shortcut-list">
          {SHORTCUTS.map(([keys, what]) => (
            <div key={what}>
              <dt>
                {keys.map((key, i) => (
                  <span key={key}>
                    {i > 0 && ` ${t("or")} `}
                    <kbd>{t(key)}</kbd>
                  </span>
                ))}
              </dt>
              <dd>{t(what)}</dd>
            </div>
          ))}
        </dl>
      </Dialog>

      <Dialog
        title={t("This draft was changed elsewhere")}
        open={editor.saveState === "conflict"}
        onClose={() => undefined}
        tone="danger"
        actions={
          <>
            <button type="button" className="btn" onClick={() => void editor.reloadTheirs()}>
              {t("Reload their version")}
            </button>
            <button type="button" className="btn danger" onClick={() => void editor.overwrite()}>
              {t("Keep mine and overwrite")}
            </button>
          </>
        }
      >
        <p>{t("Someone saved this draft in another tab or window after you opened it. Your latest change was not saved.")}</p>
        <p className="muted">{t("Reload to see their version (your unsaved change is dropped), or overwrite theirs with yours.")}</p>
      </Dialog>

      <Dialog
        title={t("Publishing needs a few fixes")}
        open={publishProblems !== null}
        onClose={() => setPublishProblems(null)}
        actions={
          <button type="button" className="btn primary" onClick={() => setPublishProblems(null)}>
            {t("Fix them")}
          </button>
        }
      >
        <p>{t("Nothing was published. Every problem is listed here and marked on its step:")}</p>
        <ProblemList
          problems={publishProblems ?? []}
          graph={graph}
          onGo={(id) => {
            setPublishProblems(null);
            setSelection([id]);
            setTab("node");
          }}
        />
      </Dialog>

      <Dialog
        title={confirm?.title ?? ""}
        open={confirm !== null}
        onClose={() => setConfirm(null)}
        actions={
          <>
            <button type="button" className="btn ghost" onClick={() => setConfirm(null)}>
              {t("Cancel")}
            </button>
            <button
              type="button"
              className="btn primary"
              onClick={async () => {
                const current = confirm;
                setConfirm(null);
                try {
                  await current?.run();
                } catch (error) {
                  setFailure({ title: t("{action} did not work.", { action: current?.action ?? t("That") }), error });
                }
              }}
            >
              {confirm?.action}
            </button>
          </>
        }
      >
        <p>{confirm?.body}</p>
      </Dialog>
    </div>
  );
}

function safeJson(text: string): unknown {
  try {
    return text.trim() ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function ProblemList({ problems, graph, onGo }: { problems: Problem[]; graph: Graph; onGo(id: string): void }) {
  return (
    <ul className="problem-list" aria-label={t("Problems")}>
      {problems.map((p, i) => {
        const node = graph.nodes.find((n) => n.id === p.node_id);
        return (
          <li key={i}>
            <Icon name="alert" size={14} />
            <span>
              {node ? <strong>{node.name}</strong> : <strong>{t("Workflow")}</strong>}
              {p.field ? ` · ${p.field}` : ""}: {problemText(p)}
            </span>
            {node && (
              <button type="button" className="btn small ghost" onClick={() => onGo(node.id)}>
                {t("Go to step")}
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}

export function ErrorScreen({ title, detail, error }: { title: string; detail?: string; error?: unknown }) {
  return (
    <div className="error-screen" role="alert">
      <div className="error-card">
        <div className="error-icon">
          <Icon name="alert" size={28} />
        </div>
        <h1>{title}</h1>
        {detail && <p>{detail}</p>}
        {error !== undefined && <ErrorNote error={error} />}
        <p className="muted">{t("Reopen the editor from your application. If this keeps happening, contact its support.")}</p>
      </div>
    </div>
  );
}
