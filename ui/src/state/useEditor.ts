// The editor's state: the draft graph under an undo stack, autosave (state/draftSync.ts: no edit
// is dropped by a refused or failed save), publish problems, and the current test run's steps.
import { errorSentence } from "../lib/errors";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Api, ApiError } from "../lib/api";
import type { HostChannel } from "../lib/embed";
import type { Draft, Graph, NodeType, Problem, Step } from "../lib/types";
import { DraftSync, type SaveState } from "./draftSync";
import { createHistory, push, redo as redoHistory, reset, undo as undoHistory, canRedo, canUndo, type History } from "../model/history";
import { statusText, t } from "../i18n";

export type { SaveState } from "./draftSync";
export { AUTOSAVE_MS } from "./draftSync";

export interface RunState {
  executionId: string | null;
  status: "idle" | "running" | "finished" | "failed";
  steps: Record<string, Step>;
  order: string[];
  /** Why the run failed: the run's error object or the refused request (shown by ErrorNote). */
  error: unknown;
}

const idleRun: RunState = { executionId: null, status: "idle", steps: {}, order: [], error: null };

export function useEditor(api: Api, host: HostChannel) {
  const [history, setHistory] = useState<History<Graph>>(() => createHistory({ nodes: [], edges: [] }));
  const [draft, setDraft] = useState<Draft | null>(null);
  const [nodeTypes, setNodeTypes] = useState<NodeType[]>([]);
  const [saveState, setSaveState] = useState<SaveState>("saved");
  const [saveError, setSaveError] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [run, setRun] = useState<RunState>(idleRun);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const runAbort = useRef<AbortController | null>(null);
  const graph = history.present;
  const pins = useMemo(() => graph.pins ?? {}, [graph.pins]);

  const sync = useMemo(
    () =>
      new DraftSync(api, {
        state(state, error) {
          setSaveState(state);
          setSaveError(error);
        },
        saved(answer) {
          setDraft(answer);
          setProblems(answer.problems ?? []);
          host.send("draftSaved", { revision: answer.revision ?? null });
        },
      }),
    [api, host],
  );
  useEffect(() => () => sync.dispose(), [sync]);

  const adopt = useCallback(
    (answer: Draft, keepHistory: boolean) => {
      const next = normalise(answer);
      sync.adopt(next, answer.revision);
      setDraft(answer);
      setProblems(answer.problems ?? []);
      setHistory((h) => reset(h, next, keepHistory));
    },
    [sync],
  );

  // Opened once; again only from the error page when a new token arrives (never over edits).
  const load = useCallback(async () => {
    try {
      const [types, opened] = await Promise.all([api.nodeTypes(), api.openDraft()]);
      setNodeTypes(types.node_types);
      adopt(opened, false);
      setLoadError(null);
    } catch (error) {
      setLoadError(error instanceof ApiError ? error : new ApiError(0, "NETWORK", String(error)));
    }
  }, [api, adopt]);

  useEffect(() => {
    void load();
  }, [load]);

  const loadErrorRef = useRef(loadError);
  loadErrorRef.current = loadError;
  useEffect(() => {
    const retry = () => {
      if (loadErrorRef.current) void load();
      else sync.resume();
    };
    window.addEventListener("online", retry);
    const unsubscribe = api.onTokenChange(retry);
    return () => {
      window.removeEventListener("online", retry);
      unsubscribe();
    };
  }, [api, load, sync]);

  // Every edit, undo and redo reaches the server through the autosave.
  useEffect(() => sync.edited(graph), [graph, sync]);

  // The host hears "dirty" from the first unsaved edit until the server has the last one.
  const wasDirty = useRef(false);
  useEffect(() => {
    const isDirty = saveState !== "saved";
    if (isDirty !== wasDirty.current) {
      wasDirty.current = isDirty;
      host.send("dirtyChanged", { dirty: isDirty });
    }
  }, [saveState, host]);

  const edit = useCallback((next: Graph | ((g: Graph) => Graph), key: string | null = null) => {
    setHistory((h) => push(h, typeof next === "function" ? next(h.present) : next, key));
  }, []);

  const flush = useCallback(() => sync.flush(), [sync]);

  /** Conflict: take the stored draft, dropping ours. */
  const reloadTheirs = useCallback(async () => {
    const opened = await api.openDraft();
    adopt(opened, false);
  }, [api, adopt]);

  /** Conflict: keep ours, saved over the newer revision. */
  const overwrite = useCallback(async () => {
    const theirs = await api.openDraft();
    await sync.overwrite(theirs.revision);
  }, [api, sync]);

  const publish = useCallback(async (): Promise<{ version?: number; problems?: Problem[]; error?: unknown }> => {
    await flush();
    if (sync.state === "conflict") return { error: t("Settle the conflict first.") };
    if (sync.dirty) return { error: t("The draft could not be saved, so it was not published. Your changes are kept.") };
    try {
      const answer = await api.publish();
      setProblems([]);
      host.send("published", { version: answer.current_version });
      const reopened = await api.openDraft();
      adopt(reopened, true);
      return { version: answer.current_version };
    } catch (error) {
      if (error instanceof ApiError && error.problems.length > 0) {
        setProblems(error.problems);
        return { problems: error.problems };
      }
      return { error };
    }
  }, [api, flush, host, adopt, sync]);

  const discard = useCallback(async () => {
    await api.discardDraft();
    await reloadTheirs();
  }, [api, reloadTheirs]);

  const restore = useCallback(
    async (version: number) => {
      await flush();
      const answer = await api.restore(version);
      adopt(answer, true);
    },
    [api, flush, adopt],
  );

  const startTest = useCallback(
    async (payload: unknown, runForReal: string[] | "all" = []) => {
      await flush();
      runAbort.current?.abort();
      const abort = new AbortController();
      runAbort.current = abort;
      setRun({ ...idleRun, status: "running" });
      try {
        // Only pins of steps the draft has (a deleted step's pin waits in the undo history).
        const present = new Set(graph.nodes.map((n) => n.id));
        const pinned = Object.fromEntries(Object.entries(pins).filter(([id]) => present.has(id)));
        const answer = await api.startTest({ payload, pinned, run_for_real: runForReal });
        // A server without `wait: false` answers the finished run itself.
        const started = { execution_id: answer.execution_id ?? (answer as unknown as { _id: string })._id };
        setRun((r) => ({ ...r, executionId: started.execution_id }));
        const onStep = (step: Step) =>
          setRun((r) => ({
            ...r,
            steps: { ...r.steps, [step.node_id]: step },
            order: r.order.includes(step.node_id) ? r.order : [...r.order, step.node_id],
          }));
        try {
          await api.followExecution(started.execution_id, onStep, abort.signal);
        } catch (error) {
          if (abort.signal.aborted) return;
          // The stream is a nicety: the finished run below has every step either way.
          console.warn("live updates stopped", error);
        }
        const finished = await api.execution(started.execution_id);
        const steps: Record<string, Step> = {};
        const order: string[] = [];
        for (const step of finished.nodes ?? []) {
          steps[step.node_id] = step;
          if (!order.includes(step.node_id)) order.push(step.node_id);
        }
        const failed = finished.status !== "COMPLETED";
        setRun({
          executionId: finished._id,
          status: failed ? "failed" : "finished",
          steps,
          order,
          error: failed ? (finished.error ?? t("The run ended as {status}.", { status: statusText(finished.status) })) : null,
        });
        host.send("runFinished", { executionId: finished._id, status: finished.status, test: true });
      } catch (error) {
        setRun({ ...idleRun, status: "failed", error });
      }
    },
    [api, flush, pins, graph, host],
  );

  const setStep = useCallback((step: Step) => {
    setRun((r) => ({ ...r, steps: { ...r.steps, [step.node_id]: step }, order: r.order.includes(step.node_id) ? r.order : [...r.order, step.node_id] }));
  }, []);

  /** Ask the server again what publish would refuse (after a change it cannot see: a connection). */
  const refreshProblems = useCallback(async () => {
    try {
      const answer = await api.openDraft();
      if (answer.revision === sync.revision) setProblems(answer.problems ?? []);
    } catch {
      // Only a refresh: the next save answers with the problems too.
    }
  }, [api, sync]);

  /** Pins are part of the draft: saved with it, undone with it. */
  const setPins = useCallback(
    (change: (pins: Record<string, unknown>) => Record<string, unknown>) => {
      setHistory((h) => push(h, { ...h.present, pins: change(h.present.pins ?? {}) }, null));
    },
    [],
  );

  const nodeTypesByName = useMemo(() => Object.fromEntries(nodeTypes.map((t) => [t.type, t])), [nodeTypes]);

  return {
    graph,
    draft,
    nodeTypes,
    nodeTypesByName,
    saveState,
    saveError,
    problems,
    run,
    pins,
    setPins,
    loadError,
    edit,
    undo: () => setHistory(undoHistory),
    redo: () => setHistory(redoHistory),
    canUndo: canUndo(history),
    canRedo: canRedo(history),
    flush,
    reloadTheirs,
    overwrite,
    publish,
    discard,
    restore,
    startTest,
    setStep,
    refreshProblems,
  };
}

export type Editor = ReturnType<typeof useEditor>;

/** The draft's graph in the editor's shape: `data` always an object, edge handles null not absent,
 * notes and pins (a version has no pins) always present. */
export function normalise(graph: Graph & { pinned?: Record<string, unknown> }): Graph {
  return {
    notes: (graph.notes ?? []).map((n) => ({ ...n })),
    pins: { ...(graph.pinned ?? graph.pins ?? {}) },
    nodes: graph.nodes.map(({ id, type, name, position, data }) => ({ id, type, name: name ?? type, position: position ?? { x: 0, y: 0 }, data: data ?? {} })),
    edges: graph.edges.map(({ id, source, target, sourceHandle, targetHandle }) => ({ id, source, target, sourceHandle: sourceHandle ?? null, targetHandle: targetHandle ?? null })),
  };
}

/** An error as one readable sentence (no raw JSON, no operator settings): lib/errors. */
export function describeError(error: unknown): string {
  return errorSentence(error);
}
