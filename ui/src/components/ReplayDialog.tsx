// "What changes if I publish": replays recent live runs through the draft (safe test runs on the
// server) and lists, per run, the steps whose outputs would differ, field by field.
import { useEffect, useRef, useState } from "react";
import type { Api } from "../lib/api";
import { fieldPath, REPLAY_DEFAULT, REPLAY_MAX, REPLAY_MIN, replayCount, replaySummary, runLabel, shortJson, stepLabel, type ReplayReport, type ReplayRun, type StepChange } from "../model/replay";
import { Dialog } from "./Dialog";
import { ErrorNote } from "./ErrorNote";
import { formatDate, t, tn } from "../i18n";

const POLL_MS = 800;

interface Props {
  api: Api;
  open: boolean;
  onClose(): void;
  /** Saves pending edits first: the server replays the draft it has. */
  beforeStart(): Promise<void>;
}

export function ReplayDialog({ api, open, onClose, beforeStart }: Props) {
  const [countText, setCountText] = useState(String(REPLAY_DEFAULT));
  const [report, setReport] = useState<ReplayReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const generation = useRef(0); // a newer start (or closing) makes older polls stop
  const count = replayCount(countText);

  const follow = async (first: ReplayReport, mine: number) => {
    let current = first;
    while (current.status === "running" && generation.current === mine) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (generation.current !== mine) return;
      try {
        current = await api.replay(current.id);
      } catch (failure) {
        if (generation.current === mine) setError(failure);
        return;
      }
      if (generation.current === mine) setReport(current);
    }
  };

  // Closing stops reading the report; opening again goes on where a running replay is.
  useEffect(() => {
    const mine = ++generation.current;
    if (open && report?.status === "running") void follow(report, mine);
    // Only a change of `open` decides this; `report` is read as it is then.
  }, [open]);
  useEffect(() => () => void (generation.current += 1), []);

  const start = async () => {
    if (count === null) return;
    const mine = ++generation.current;
    setStarting(true);
    setError(null);
    setReport(null);
    try {
      await beforeStart();
      const first = await api.startReplay(count);
      if (generation.current !== mine) return;
      setReport(first);
      void follow(first, mine);
    } catch (failure) {
      if (generation.current === mine) setError(failure);
    } finally {
      setStarting(false);
    }
  };

  const running = starting || report?.status === "running";
  return (
    <Dialog
      title={t("What changes if I publish")}
      open={open}
      onClose={onClose}
      className="replay-dialog"
      actions={
        <button type="button" className="btn" onClick={onClose}>
          {t("Close")}
        </button>
      }
    >
      <p className="muted">
        {t("Runs the trigger data of recent live runs through this draft in safe test mode: nothing is sent or written, and steps that write answer what they answered live. Then lists the steps whose outputs would differ.")}
      </p>
      <form
        className="replay-form"
        onSubmit={(event) => {
          event.preventDefault();
          void start();
        }}
      >
        <label htmlFor="replay-count">{t("Live runs to replay")}</label>
        <input
          id="replay-count"
          type="number"
          inputMode="numeric"
          min={REPLAY_MIN}
          max={REPLAY_MAX}
          value={countText}
          onChange={(event) => setCountText(event.target.value)}
          aria-invalid={count === null}
          aria-describedby="replay-count-hint"
        />
        <button type="submit" className="btn primary" disabled={count === null || running}>
          {running ? t("Replaying…") : t("Replay")}
        </button>
        <span id="replay-count-hint" className={count === null ? "field-problem" : "muted"}>
          {count === null ? t("A whole number from {min} to {max}", { min: REPLAY_MIN, max: REPLAY_MAX }) : t("The newest ended runs")}
        </span>
      </form>
      {error !== null && <ErrorNote error={error} title={t("The replay could not run")} />}
      {report && (
        <section className="replay-results" aria-label={t("Replay results")}>
          <p role="status" aria-live="polite" className="replay-summary">
            {replaySummary(report)}
          </p>
          <ul className="replay-runs">
            {report.runs.map((run, index) => (
              <ReplayRunRow key={run.test_execution_id ?? run.live_execution_id ?? index} run={run} />
            ))}
          </ul>
        </section>
      )}
    </Dialog>
  );
}

function ReplayRunRow({ run }: { run: ReplayRun }) {
  const when = run.started_at ? formatDate(run.started_at, { dateStyle: "medium", timeStyle: "medium" }) : "";
  const changed = run.steps.filter((step) => step.change !== "same");
  const same = run.steps.filter((step) => step.change === "same");
  return (
    <li className={`replay-run ${run.status}`} data-testid="replay-run">
      <details open={run.status === "changed"}>
        <summary>
          <span className={`badge replay-${run.status}`}>{runLabel(run)}</span>
          <span className="replay-when">{when}</span>
          {run.version !== null && <span className="muted">{t("version {version}", { version: run.version })}</span>}
          <code className="replay-trigger" title={t("The trigger data both runs started from")}>
            {shortJson(run.trigger, 80)}
          </code>
        </summary>
        {run.message && <p className="muted replay-message">{run.message}</p>}
        {changed.map((step) => (
          <StepDiff key={`${step.node_id}/${step.iteration}`} step={step} />
        ))}
        {same.length > 0 && (
          <p className="muted replay-same">
            {t("Unchanged: {steps}", { steps: same.map((step) => step.node_name).join(", ") })}
          </p>
        )}
      </details>
    </li>
  );
}

function StepDiff({ step }: { step: StepChange }) {
  const name = step.iteration ? `${step.node_name} (${step.iteration})` : step.node_name;
  return (
    <div className="replay-step" data-testid="replay-step">
      <h3>
        {name} <span className={`badge diff-${step.change === "same" ? "changed" : step.change}`}>{stepLabel(step)}</span>
        {step.held_back && <span className="badge">{t("held back")}</span>}
      </h3>
      {step.diff.length > 0 && (
        <table className="replay-diff">
          <thead>
            <tr>
              <th scope="col">{t("Field")}</th>
              <th scope="col">{t("Live")}</th>
              <th scope="col">{t("Draft")}</th>
            </tr>
          </thead>
          <tbody>
            {step.diff.map((row) => (
              <tr key={row.path} className={`diff-row ${row.kind}`}>
                <th scope="row">
                  <code>{fieldPath(row.path)}</code>
                </th>
                <td>{row.kind === "added" ? <span className="muted">{t("(none)")}</span> : <code>{shortJson(row.old)}</code>}</td>
                <td>{row.kind === "removed" ? <span className="muted">{t("(none)")}</span> : <code>{shortJson(row.new)}</code>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {step.total > step.diff.length && <p className="muted">{tn(step.total - step.diff.length, "and {count} more field", "and {count} more fields")}</p>}
    </div>
  );
}
