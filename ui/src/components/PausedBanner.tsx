import { useEffect, useState } from "react";
import type { Api } from "../lib/api";
import type { PauseState } from "../lib/types";
import { t } from "../i18n";

/** Shown while the workflow is paused after failed runs in a row: why, the run that failed
 * last (one click opens it), and Resume, which starts its triggers, schedules and polls again. */
export function PausedBanner({ api, onOpenRun, onResumed }: { api: Api; onOpenRun(id: string): void; onResumed(): void }) {
  const [state, setState] = useState<PauseState | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.pauseState().then(
      (got) => live && setState(got),
      () => undefined, // an editor without this route (or offline) simply shows no banner
    );
    return () => {
      live = false;
    };
  }, [api]);

  if (!state?.paused) return null;

  const resume = async () => {
    setBusy(true);
    setProblem(null);
    try {
      setState(await api.resume());
      onResumed();
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="banner paused" role="alert">
      <span>
        <strong>{t("Paused after {count} failed runs in a row.", { count: state.failures })}</strong> {t("Its triggers, schedules and polls are stopped until you resume it.")}
        {state.reason && <> {t("The last run failed:")} {state.reason.replace(/\.?$/, ".")}</>}
        {problem && <span className="paused-problem"> {t("Could not resume: {problem}", { problem })}</span>}
      </span>
      {state.execution_id && (
        <button type="button" className="btn small ghost" onClick={() => onOpenRun(state.execution_id!)}>
          {t("Open the failed run")}
        </button>
      )}
      <button type="button" className="btn small primary" disabled={busy} onClick={() => void resume()}>
        {t("Resume")}
      </button>
    </div>
  );
}
