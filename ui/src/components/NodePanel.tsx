// The panel of one selected step: name, its generated form, the data picker, a live expression
// preview, its publish problems, and its last test data (with pin and "run this step").
import { useEffect, useMemo, useRef, useState } from "react";
import type { Api } from "../lib/api";
import type { Graph, NodeType, Problem, Step, WeftNode } from "../lib/types";
import { slugifyName, upstreamOf } from "../model/graph";
import { focusedField, referenceFor, type CodeMode } from "./CodeField";
import { DataPicker, JsonViewer, pathsOf, type PickerSource } from "./DataView";
import { Icon } from "./Icons";
import { PinEditor } from "./PinEditor";
import { ErrorNote } from "./ErrorNote";
import { McpStep } from "./McpStep";
import { SchemaForm } from "./SchemaForm";
import { AppStep } from "./AppStep";
import { ConnectionPicker } from "./ConnectionPicker";
import { TriggerStep } from "./TriggerStep";
import { exampleOf, findAction, useApps } from "../state/apps";
import { describeError } from "../state/useEditor";
import { problemText } from "../lib/problems";
import { formatDuration, statusText, t, tx, useLocale } from "../i18n";
import { nodeTypeDescription } from "../i18n/nodeTypes";

interface Props {
  api: Api;
  graph: Graph;
  node: WeftNode;
  nodeType: NodeType | undefined;
  types: Record<string, NodeType>;
  problems: Problem[];
  steps: Record<string, Step>;
  pinned: boolean;
  /** The pinned output itself (when pinned), for the pinned-data editor. */
  pinnedValue?: unknown;
  readOnly: boolean;
  saved: boolean;
  onRename(name: string): void;
  onData(data: Record<string, unknown>): void;
  onPin(output: unknown | undefined): void;
  onStep(step: Step): void;
  /** Choose this held-back write to run for real (in the test panel, with any others). */
  onRunForReal(nodeId: string): void;
  onConnected?(): void;
  showTestData?: boolean;
  /** The draft's webhook URL path (the start node's webhook/app trigger), before publish too. */
  webhook?: { path: string | null | undefined; live: boolean | undefined };
}

// Steps whose `connection` names the app whose credentials sign their requests.
const SIGNED_BY_APP = new Set(["http", "mcp"]);

const RENAME_MS = 400;

// Their run decides the route or the end of the run, so the server refuses to pin them.
const UNPINNABLE = new Set(["start", "condition", "loop", "end", "respond"]);

export function NodePanel(props: Props) {
  const locale = useLocale();
  const { api, graph, node, nodeType, problems, steps, pinned, readOnly } = props;
  const [name, setName] = useState(node.name);
  const [preview, setPreview] = useState<{ value?: unknown; error?: string | null; pending?: boolean } | null>(null);
  const [previewSource, setPreviewSource] = useState<{ mode: CodeMode; read: () => unknown } | null>(null);
  const [running, setRunning] = useState(false);
  const previewOff = useRef(false);
  const [naming, setNaming] = useState(false);
  const [editingPin, setEditingPin] = useState(false);
  const renameTimer = useRef<number | null>(null);
  const testData = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    // Scroll the panel only: scrollIntoView would also scroll the host page around the iframe.
    const heading = testData.current;
    const panel = heading?.closest(".side-scroll");
    if (panel) panel.scrollTop = props.showTestData && heading ? heading.offsetTop - 12 : 0;
  }, [props.showTestData]);
  // While the name is typed, the input keeps the text as typed (the step may get " 2" to stay unique).
  useEffect(() => {
    if (!naming) setName(node.name);
  }, [node.id, node.name, naming]);
  const applyName = (text: string) => {
    if (renameTimer.current !== null) window.clearTimeout(renameTimer.current);
    renameTimer.current = null;
    if (text.trim() && text !== node.name) props.onRename(text);
  };
  useEffect(() => () => {
    if (renameTimer.current !== null) window.clearTimeout(renameTimer.current);
  }, []);

  const upstream = useMemo(() => upstreamOf(graph, node.id), [graph, node.id]);
  // App steps upstream: their action's `output` schema stands in for their output before a run.
  const apps = useApps(api);
  const appsVersion = apps.snapshot();
  const outputExample = useMemo(() => {
    const examples: Record<string, unknown> = {};
    for (const up of upstream) {
      if (up.type !== "app_action" || typeof up.data.app !== "string") continue;
      const action = findAction(apps.detail(up.data.app), up.data.action);
      const example = action?.output && Object.keys(action.output).length ? exampleOf(action.output) : undefined;
      if (example !== undefined) examples[up.id] = example;
    }
    return examples;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [upstream, apps, appsVersion]);
  const sources: PickerSource[] = useMemo(() => {
    const list: PickerSource[] = [];
    for (const up of upstream) {
      const step = steps[up.id];
      if (up.type === "start") list.push({ label: t("Trigger"), path: "trigger", value: step ? step.latest_output : (up.data.sample_payload ?? undefined) });
      else list.push({ label: up.name, path: `nodes.${slugifyName(up.name)}`, value: step?.latest_output ?? outputExample[up.id] ?? props.types[up.type]?.output_example ?? undefined, example: !step });
    }
    if (upstream.some((u) => u.type === "loop")) list.push({ label: t("Loop item"), path: "loop", value: { item: null, index: 0 } });
    return list;
  }, [upstream, steps, props.types, outputExample, locale]);

  const paths = useMemo(() => {
    const all: string[] = [];
    for (const source of sources) pathsOf(source.path, source.value, 0, all);
    return all;
  }, [sources]);
  const pathsRef = useRef(paths);
  pathsRef.current = paths;

  const nodeProblems = problems.filter((p) => p.node_id === node.id);
  const step = steps[node.id];
  const wouldSend = (step?.latest_output as { safe_mode?: boolean; would_send?: unknown } | undefined)?.safe_mode ? (step!.latest_output as { would_send: unknown }).would_send : null;

  // Live preview: the backend evaluates the focused field's current text against the last test
  // context. Runs after the fields rendered (their `read` sees this edit); an answer to an older
  // text is dropped and its request aborted.
  const previewAsked = useRef(0);
  useEffect(() => {
    // Preview only what the server has: a step still waiting for autosave is unknown to it.
    if (!previewSource || previewOff.current || readOnly || !props.saved) return;
    const value = previewSource.read();
    const asked = ++previewAsked.current;
    if (value === undefined || value === null || value === "") {
      setPreview(null);
      return;
    }
    setPreview((p) => ({ ...p, pending: true }));
    const abort = new AbortController();
    const handle = window.setTimeout(async () => {
      try {
        const body = previewSource.mode === "expression" ? { expression: String(value) } : { template: value };
        const answer = await api.previewExpression(node.id, body, abort.signal);
        if (asked === previewAsked.current) setPreview({ value: answer.value, error: answer.error });
      } catch (error) {
        if (abort.signal.aborted || asked !== previewAsked.current) return;
        const { status, code } = error as { status?: number; code?: string };
        // A server without the preview route: stop asking. A step or run it does not know yet: skip.
        const absent = status === 405 || (status === 404 && code !== "NODE_NOT_FOUND" && code !== "EXECUTION_NOT_FOUND");
        if (absent) previewOff.current = true;
        setPreview(status === 404 || status === 405 ? null : { error: describeError(error) });
      }
    }, 450);
    return () => {
      window.clearTimeout(handle);
      abort.abort();
    };
  }, [node.data, previewSource, api, node.id, readOnly, props.saved]);

  const runAlone = async (forReal = false) => {
    setRunning(true);
    try {
      const trigger = Object.values(steps).find((s) => s.node_type === "start")?.latest_output ?? graph.nodes.find((n) => n.type === "start")?.data.sample_payload ?? {};
      const outputs: Record<string, unknown> = {};
      for (const up of upstream) if (steps[up.id] && up.type !== "start") outputs[slugifyName(up.name)] = steps[up.id].latest_output;
      const answer = await api.runNode(node.id, { trigger, nodes: outputs, run_for_real: forReal });
      props.onStep({
        node_id: node.id,
        node_name: node.name,
        node_type: node.type,
        node_status: answer.status === "succeeded" || answer.status === "COMPLETED" ? "COMPLETED" : answer.status === "skipped" || answer.status === "SKIPPED" ? "SKIPPED" : "FAILED",
        attempts_made: 1,
        execution_time: answer.execution_time,
        input: null,
        latest_output: answer.output,
        error: answer.error,
      });
    } catch (error) {
      props.onStep({ node_id: node.id, node_name: node.name, node_type: node.type, node_status: "FAILED", attempts_made: 1, execution_time: null, input: null, latest_output: null, error });
    } finally {
      setRunning(false);
    }
  };

  return (
    <section className="panel-body" aria-label={t("Step {name}", { name: node.name })}>
      <div className="field">
        <label htmlFor="node-name">{t("Step name")}</label>
        <input
          id="node-name"
          value={name}
          disabled={readOnly || node.type === "start"}
          onFocus={() => setNaming(true)}
          onChange={(e) => {
            const text = e.target.value;
            setName(text);
            // Applied as typed, canvas and references included, after a short pause.
            if (renameTimer.current !== null) window.clearTimeout(renameTimer.current);
            renameTimer.current = window.setTimeout(() => applyName(text), RENAME_MS);
          }}
          onBlur={() => {
            applyName(name);
            setNaming(false);
          }}
          onKeyDown={(e) => e.key === "Enter" && (e.currentTarget as HTMLInputElement).blur()}
        />
        <p className="field-hint">
          {tx("Referenced as {reference}", { reference: <code>{node.type === "start" ? "trigger" : `nodes.${slugifyName(node.name)}`}</code> })}
          {nodeType && ` · ${nodeTypeDescription(nodeType)}`}
        </p>
      </div>

      {nodeProblems.length > 0 && (
        <div className="problems" role="alert" aria-label={t("Problems that stop publishing")}>
          <Icon name="alert" />
          <ul>
            {nodeProblems.map((p, i) => (
              <li key={i}>
                {p.field ? <strong>{p.field}: </strong> : null}
                {problemText(p)}
              </li>
            ))}
          </ul>
        </div>
      )}

      <h3 className="section-title">{t("Settings")}</h3>
      {node.type === "app_action" && (
        <fieldset disabled={readOnly} className="plain">
          <AppStep
            api={api}
            data={node.data}
            onChange={props.onData}
            problems={nodeProblems}
            paths={() => pathsRef.current}
            onFocusField={(mode, read) => setPreviewSource({ mode, read })}
            onConnected={() => props.onConnected?.()}
            readOnly={readOnly}
          />
        </fieldset>
      )}
      {SIGNED_BY_APP.has(node.type) && (
        <fieldset disabled={readOnly} className="plain">
          <ConnectionPicker api={api} data={node.data} onChange={props.onData} problems={nodeProblems} onConnected={() => props.onConnected?.()} readOnly={readOnly} />
        </fieldset>
      )}
      {node.type === "start" && (
        <fieldset disabled={readOnly} className="plain">
          <TriggerStep
            api={api}
            data={node.data}
            onChange={props.onData}
            problems={nodeProblems}
            paths={() => pathsRef.current}
            onFocusField={(mode, read) => setPreviewSource({ mode, read })}
            onConnected={() => props.onConnected?.()}
            webhook={props.webhook ?? { path: null, live: false }}
            readOnly={readOnly}
          />
        </fieldset>
      )}
      {nodeType ? (
        <fieldset disabled={readOnly} className="plain">
          <SchemaForm
            key={node.id}
            nodeType={node.type === "app_action" ? appStepOptions(nodeType, apps.detail(String(node.data.app ?? "")), node.data.action) : node.type === "start" ? startOptions(nodeType) : node.type === "mcp" ? mcpOptions(nodeType) : node.type === "http" ? without(nodeType, ["connection"]) : nodeType}
            data={node.data}
            onChange={props.onData}
            paths={() => pathsRef.current}
            problems={nodeProblems}
            onFocusField={(mode, read) => setPreviewSource({ mode, read })}
          >
            {/* After the URL it lists tools from. */}
            {node.type === "mcp" && (
              <McpStep
                api={api}
                data={node.data}
                defaults={nodeType.defaults}
                onChange={props.onData}
                problems={nodeProblems}
                paths={() => pathsRef.current}
                onFocusField={(mode, read) => setPreviewSource({ mode, read })}
                readOnly={readOnly}
              />
            )}
          </SchemaForm>
        </fieldset>
      ) : (
        <p className="muted">{t("Unknown step type “{type}”.", { type: node.type })}</p>
      )}

      {preview && (
        <div className={`preview${preview.error ? " error" : ""}`} aria-live="polite" aria-label={t("Expression preview")}>
          <span className="preview-label">{preview.pending ? t("Evaluating…") : preview.error ? t("Cannot evaluate") : t("Preview")}</span>
          <code>{preview.error ? preview.error : JSON.stringify(preview.value)?.slice(0, 400)}</code>
        </div>
      )}

      {node.type !== "start" && !readOnly && (
        <>
          <h3 className="section-title">{t("Data from earlier steps")}</h3>
          <p className="field-hint">{t("Click a field to insert a reference where your cursor is.")}</p>
          <DataPicker
            sources={sources}
            onPick={(path) => {
              const field = focusedField();
              if (field) field.insert(referenceFor(field.mode, path));
            }}
          />
        </>
      )}

      <h3 className="section-title" ref={testData}>
        {readOnly ? t("In this run") : t("Last test")}
      </h3>
      {wouldSend ? (
        <div className="safe-box">
          <p className="safe-title">
            <Icon name="shield" />
            <span>
              <strong>{t("Held back by safe test mode.")}</strong> {t("This is the request it would send:")}
            </span>
          </p>
          <JsonViewer value={wouldSend} label={t("Request it would send")} />
          {/* A past run's held-back step is not in the test panel's list: only the last test's are. */}
          {!readOnly && (
            <button type="button" className="btn danger" onClick={() => props.onRunForReal(node.id)}>
              {t("Run for real…")}
            </button>
          )}
        </div>
      ) : null}
      {step ? (
        <StepData step={step} />
      ) : (
        <p className="muted">{t("Not run yet. Run a test, or run this step alone with the data above.")}</p>
      )}
      {!readOnly && (
        <div className="button-row">
          {node.type !== "start" && (
            <button type="button" className="btn" disabled={running} onClick={() => void runAlone()}>
              <Icon name="play" size={14} /> {running ? t("Running…") : t("Run this step")}
            </button>
          )}
          {step && !pinned && step.node_status === "COMPLETED" && !UNPINNABLE.has(node.type) && (
            <button type="button" className="btn ghost" onClick={() => props.onPin(step.latest_output)}>
              <Icon name="pin" size={14} /> {t("Pin this output")}
            </button>
          )}
          {!UNPINNABLE.has(node.type) && !editingPin && (
            <button type="button" className="btn ghost" onClick={() => setEditingPin(true)}>
              <Icon name="pin" size={14} /> {pinned ? t("Edit pinned data") : t("Pin data…")}
            </button>
          )}
          {pinned && (
            <button type="button" className="btn ghost" onClick={() => props.onPin(undefined)}>
              <Icon name="pin" size={14} /> {t("Unpin")}
            </button>
          )}
        </div>
      )}
      {!readOnly && editingPin && (
        <PinEditor
          nodeId={node.id}
          pinned={pinned}
          value={pinned ? props.pinnedValue : (step?.latest_output ?? {})}
          onSave={(value) => {
            props.onPin(value);
            setEditingPin(false);
          }}
          onClose={() => setEditingPin(false)}
        />
      )}
    </section>
  );
}

/** The app step's own form covers app, action and params; the rest (paging, retries) stays. */
function appStepOptions(nodeType: NodeType, app: Parameters<typeof findAction>[0], action: unknown): NodeType {
  const paginated = findAction(app, action)?.paginated ?? false;
  return without(nodeType, ["app", "action", "params", ...(paginated ? [] : ["all_pages", "max_items"])]);
}

/** The form of `nodeType` less the fields a section of its own covers. */
function without(nodeType: NodeType, fields: string[]): NodeType {
  const hidden = new Set(fields);
  const properties = Object.fromEntries(Object.entries(nodeType.schema.properties ?? {}).filter(([key]) => !hidden.has(key)));
  return { ...nodeType, schema: { ...nodeType.schema, properties } };
}

/** The connection picker and the mcp step's own section (tools, arguments) cover the rest. */
function mcpOptions(nodeType: NodeType): NodeType {
  return without(nodeType, ["tool", "arguments", "connection"]);
}

/** The trigger section covers the kind and its fields; sync (webhooks) and the sample stay. */
function startOptions(nodeType: NodeType): NodeType {
  return without(nodeType, ["trigger", "event", "cron", "timezone", "app", "app_trigger", "params"]);
}

export function StepData({ step }: { step: Step }) {
  const [tab, setTab] = useState<"output" | "input" | "error">(step.error ? "error" : "output");
  return (
    <div className="step-data">
      <div className="tabs small" role="tablist" aria-label={t("Step data")}>
        {(["output", "input", "error"] as const).map((name) => (
          <button key={name} type="button" role="tab" aria-selected={tab === name} className={tab === name ? "active" : ""} onClick={() => setTab(name)}>
            {name === "output" ? t("Output") : name === "input" ? t("Input") : t("Error")}
            {name === "error" && step.error ? " •" : ""}
          </button>
        ))}
        <span className="step-meta">
          {statusText(step.node_status)} · {step.execution_time !== null ? formatDuration(step.execution_time) : "—"}
          {step.attempts_made > 1 ? ` · ${t("{count} attempts", { count: step.attempts_made })}` : ""}
          {step.pinned ? ` · ${t("pinned")}` : ""}
        </span>
      </div>
      <div role="tabpanel">
        {tab === "output" && <JsonViewer value={step.latest_output} label={t("Step output")} />}
        {tab === "input" && <JsonViewer value={step.input} label={t("Step input")} />}
        {tab === "error" && (step.error ? <ErrorNote error={step.error} title={t("This step failed.")} /> : <p className="muted">{t("No error.")}</p>)}
      </div>
    </div>
  );
}
