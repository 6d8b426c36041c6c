// Testing: the sample payload (prefilled from request-structure), run the draft in safe mode,
// and the steps as they arrive (click one to open it on the canvas).
import { useEffect, useState } from "react";
import type { Api } from "../lib/api";
import type { Graph } from "../lib/types";
import type { RunState } from "../state/useEditor";
import { CodeField } from "./CodeField";
import { Icon } from "./Icons";
import { ErrorNote } from "./ErrorNote";
import { formatDuration, statusText, t, tn } from "../i18n";

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
      setError(t("The sample payload is not valid JSON."));
    }
  };

  const names = Object.fromEntries(graph.nodes.map((n) => [n.id, n.name]));
  const pinCount = Object.keys(pins).length;
  return (
    <section className="panel-body" aria-label={t("Test the draft")}>
      <h3 className="section-title">{t("Sample payload")}</h3>
      <CodeField id="test-payload" label={t("Sample payload")} value={payloadText} mode="json" minLines={5} onChange={setPayloadText} />
      {error && (
        <p className="field-problem" role="alert">
          {error}
        </p>
      )}
      <div className="safe-note">
        <Icon name="shield" />
        <span>
          <strong>{t("Safe test mode is on.")}</strong> {t("Steps that send data out (POST, PUT, PATCH, DELETE) show the request instead of sending it.")}
        </span>
      </div>
      <div className="button-row">
        <button type="button" className="btn primary" onClick={start} disabled={run.status === "running"}>
          <Icon name="play" size={14} /> {run.status === "running" ? t("Running…") : t("Run test")}
        </button>
        {pinCount > 0 && <span className="muted">{tn(pinCount, "{count} pinned step will not run", "{count} pinned steps will not run")}</span>}
      </div>

      {run.status !== "idle" && (
        <>
          <h3 className="section-title">
            {t("Result")}{" "}
            <span className={`pill ${run.status === "running" ? "running" : run.status === "finished" ? "success" : "danger"}`} role="status">
              {run.status === "running" ? t("Running") : run.status === "finished" ? t("Succeeded") : t("Failed")}
            </span>
          </h3>
          {Boolean(run.error) && <ErrorNote error={run.error} title={t("The test run failed.")} />}
          <ol className="step-list" aria-label={t("Steps of the test run")}>
            {run.order.map((id) => {
              const step = run.steps[id];
              const safe = (step.latest_output as { safe_mode?: boolean } | null)?.safe_mode;
              return (
                <li key={id} className={`step-row status-${step.node_status.toLowerCase()}`}>
                  {/* The name is the visible text (axe: label-content-name-mismatch), after a hidden "Open step". */}
                  <button type="button" className="step-open" onClick={() => onOpenStep(id)}>
                    <span className="dot" aria-hidden="true" />
                    <span className="sr-only">{t("Open step")} </span>
                    <span className="step-name">{names[id] ?? step.node_name}</span>
                    <span className="step-status">{safe ? t("not sent") : step.pinned ? t("pinned") : statusText(step.node_status)}</span>
                    <span className="step-time">{step.execution_time !== null ? formatDuration(step.execution_time) : ""}</span>
                  </button>
                  {safe && (
                    <button type="button" className="btn small danger" onClick={() => onRunForReal(id)}>
                      {t("Run for real")}
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
