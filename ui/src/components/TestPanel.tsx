// Testing: the sample payload (prefilled from request-structure), run the draft in safe mode,
// and the steps as they arrive (click one to open it on the canvas).
import { useEffect, useState } from "react";
import type { Api } from "../lib/api";
import type { Graph } from "../lib/types";
import type { RunState } from "../state/useEditor";
import { CodeField } from "./CodeField";
import { Icon } from "./Icons";
import { ErrorNote } from "./ErrorNote";

interface Props {
  api: Api;
  graph: Graph;
  run: RunState;
  payloadText: string;
  setPayloadText(text: string): void;
  pins: Record<string, unknown>;
  onRun(payload: unknown): void;
  onOpenStep(nodeId: string): void;
  onRunForReal(nodeId: string): void;
}

export function TestPanel({ api, graph, run, payloadText, setPayloadText, pins, onRun, onOpenStep, onRunForReal }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(payloadText !== "");

  useEffect(() => {
    if (loaded) return;
    let live = true;
    api
      .requestStructure()
      .then((structure) => {
        if (live && payloadText === "") setPayloadText(JSON.stringify(structure.payload ?? {}, null, 2));
      })
      .catch(() => live && setPayloadText("{}"))
      .finally(() => live && setLoaded(true));
    return () => {
      live = false;
    };
  }, [api, loaded, payloadText, setPayloadText]);

  const start = () => {
    try {
      const payload = payloadText.trim() ? JSON.parse(payloadText) : undefined;
      setError(null);
      onRun(payload);
    } catch {
      setError("The sample payload is not valid JSON.");
    }
  };

  const names = Object.fromEntries(graph.nodes.map((n) => [n.id, n.name]));
  const pinCount = Object.keys(pins).length;
  return (
    <section className="panel-body" aria-label="Test the draft">
      <h3 className="section-title">Sample payload</h3>
      <CodeField id="test-payload" label="Sample payload" value={payloadText} mode="json" minLines={5} onChange={setPayloadText} />
      {error && (
        <p className="field-problem" role="alert">
          {error}
        </p>
      )}
      <div className="safe-note">
        <Icon name="shield" />
        <span>
          <strong>Safe test mode is on.</strong> Steps that send data out (POST, PUT, PATCH, DELETE) show the request instead of sending it.
        </span>
      </div>
      <div className="button-row">
        <button type="button" className="btn primary" onClick={start} disabled={run.status === "running"}>
          <Icon name="play" size={14} /> {run.status === "running" ? "Running…" : "Run test"}
        </button>
        {pinCount > 0 && <span className="muted">{pinCount} pinned step{pinCount > 1 ? "s" : ""} will not run</span>}
      </div>

      {run.status !== "idle" && (
        <>
          <h3 className="section-title">
            Result{" "}
            <span className={`pill ${run.status === "running" ? "running" : run.status === "finished" ? "success" : "danger"}`} role="status">
              {run.status === "running" ? "Running" : run.status === "finished" ? "Succeeded" : "Failed"}
            </span>
          </h3>
          {Boolean(run.error) && <ErrorNote error={run.error} title="The test run failed." />}
          <ol className="step-list" aria-label="Steps of the test run">
            {run.order.map((id) => {
              const step = run.steps[id];
              const safe = (step.latest_output as { safe_mode?: boolean } | null)?.safe_mode;
              return (
                <li key={id} className={`step-row status-${step.node_status.toLowerCase()}`}>
                  {/* The name is the visible text (axe: label-content-name-mismatch), after a hidden "Open step". */}
                  <button type="button" className="step-open" onClick={() => onOpenStep(id)}>
                    <span className="dot" aria-hidden="true" />
                    <span className="sr-only">Open step </span>
                    <span className="step-name">{names[id] ?? step.node_name}</span>
                    <span className="step-status">{safe ? "not sent" : step.pinned ? "pinned" : step.node_status.toLowerCase()}</span>
                    <span className="step-time">{step.execution_time !== null ? `${Math.round(step.execution_time)} ms` : ""}</span>
                  </button>
                  {safe && (
                    <button type="button" className="btn small danger" onClick={() => onRunForReal(id)}>
                      Run for real
                    </button>
                  )}
                </li>
              );
            })}
          </ol>
        </>
      )}
    </section>
  );
}
