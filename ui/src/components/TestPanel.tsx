// Testing: the sample payload (prefilled from request-structure), run the draft in safe mode,
// and the steps as they arrive (click one to open it on the canvas). The writes a run held back
// are listed to choose from: the chosen ones run for real together in the next run, so a later
// write sees the real answer of an earlier one (an id it creates), not the held-back stand-in.
import { useEffect, useState } from "react";
import type { Api } from "../lib/api";
import type { Graph } from "../lib/types";
import type { RunState } from "../state/useEditor";
import { CodeField } from "./CodeField";
import { Icon } from "./Icons";
import { ErrorNote } from "./ErrorNote";
import { Dialog } from "./Dialog";
import { heldBack, heldBackSteps, wouldSendSummary } from "../lib/heldBack";
import { formatDuration, statusText, t, tn } from "../i18n";

interface Props {
  api: Api;
  graph: Graph;
  run: RunState;
  payloadText: string;
  setPayloadText(text: string): void;
  pins: Record<string, unknown>;
  onOpenStep(nodeId: string): void;
  /** The held-back writes chosen to run for real in the next run (node ids). */
  forReal: string[];
  setForReal(ids: string[]): void;
  /** Run the draft; `runForReal`: the held-back writes (ids) to send this time, or "all". */
  onRun(payload: unknown, runForReal?: string[] | "all"): void;
}

export function TestPanel({ api, graph, run, payloadText, setPayloadText, pins, onRun, onOpenStep, forReal, setForReal }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [confirmAll, setConfirmAll] = useState(false);
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

  const start = (runForReal?: string[] | "all") => {
    try {
      const payload = payloadText.trim() ? JSON.parse(payloadText) : undefined;
      setError(null);
      onRun(payload, runForReal);
    } catch {
      setError(t("The sample payload is not valid JSON."));
    }
  };

  const names = Object.fromEntries(graph.nodes.map((n) => [n.id, n.name]));
  const held = run.status === "running" ? [] : heldBackSteps(run.order, run.steps, new Set(Object.keys(names)));
  const chosen = forReal.filter((id) => held.includes(id));
  const toggle = (id: string, on: boolean) => setForReal(on ? [...chosen, id] : chosen.filter((c) => c !== id));
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
          <strong>{t("Safe test mode is on.")}</strong> {t("Steps that send data out (POST, PUT, PATCH, DELETE) show the request instead of sending it; after a run, choose which to send for real.")}
        </span>
      </div>
      <div className="button-row">
        <button type="button" className="btn primary" onClick={() => start()} disabled={run.status === "running"}>
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
              const safe = heldBack(step.latest_output);
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
                </li>
              );
            })}
          </ol>
          {held.length > 0 && (
            <fieldset className="for-real">
              <legend>{t("Held-back writes")}</legend>
              <p className="muted">
                {t("Choose the writes to send for real. They run together in one test, so later steps see their real answers. The others stay held back.")}
              </p>
              <ul className="for-real-list">
                {held.map((id) => (
                  <li key={id}>
                    <label>
                      <input type="checkbox" checked={chosen.includes(id)} onChange={(e) => toggle(id, e.target.checked)} />
                      <span className="step-name">{names[id]}</span>
                      <span className="for-real-what">{wouldSendSummary(run.steps[id].latest_output)}</span>
                    </label>
                  </li>
                ))}
              </ul>
              <div className="button-row">
                <button type="button" className="btn danger" disabled={chosen.length === 0} onClick={() => start(chosen)}>
                  {chosen.length === 0 ? t("Run chosen for real") : tn(chosen.length, "Run test with {count} for real", "Run test with {count} for real")}
                </button>
                <button type="button" className="btn ghost" onClick={() => setConfirmAll(true)}>
                  {t("Run all for real…")}
                </button>
              </div>
            </fieldset>
          )}
        </>
      )}
      <Dialog
        title={t("Send every write for real?")}
        open={confirmAll}
        onClose={() => setConfirmAll(false)}
        tone="danger"
        actions={
          <>
            <button type="button" className="btn ghost" onClick={() => setConfirmAll(false)}>
              {t("Cancel")}
            </button>
            <button
              type="button"
              className="btn danger"
              onClick={() => {
                setConfirmAll(false);
                start("all");
              }}
            >
              {t("Send all for real")}
            </button>
          </>
        }
      >
        <p>
          {t("This test sends every step that changes data outside for real: {steps}, and any write the last test did not reach.", { steps: held.map((id) => names[id]).join(", ") })}
        </p>
        <p className="muted">{t("What they send cannot be taken back. Pinned steps still do not run.")}</p>
      </Dialog>
    </section>
  );
}
