// "What changes if I publish": the server's replay report (POST/GET /workflow/{id}/draft/replay)
// and the few sentences the editor makes of it.
import { msg, t, tn } from "../i18n";

export interface FieldChange {
  path: string;
  kind: "changed" | "added" | "removed";
  old: unknown;
  new: unknown;
}

export interface StepChange {
  node_id: string;
  node_name: string;
  iteration: string;
  change: "same" | "changed" | "added" | "removed";
  old_status: string | null;
  new_status: string | null;
  held_back: boolean;
  diff: FieldChange[];
  total: number;
}

export type ReplayRunStatus = "pending" | "same" | "changed" | "no_outputs" | "unavailable";

export interface ReplayRun {
  live_execution_id: string | null;
  test_execution_id: string | null;
  version: number | null;
  live_status: string | null;
  test_status: string | null;
  started_at: string | null;
  trigger: unknown;
  status: ReplayRunStatus;
  message: string | null;
  changed: number;
  unchanged: number;
  steps: StepChange[];
}

export interface ReplayReport {
  id: string;
  workflow_id: string;
  requested: number;
  created_at: string;
  status: "running" | "done";
  total: number;
  pending: number;
  with_changes: number;
  runs: ReplayRun[];
}

export const REPLAY_MIN = 1;
export const REPLAY_MAX = 100;
export const REPLAY_DEFAULT = 20;

/** The count to send: a whole number within the server's bounds (the field may hold anything). */
export function replayCount(text: string): number | null {
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= REPLAY_MIN && n <= REPLAY_MAX ? n : null;
}

/** One line on where the replay stands. */
export function replaySummary(report: ReplayReport): string {
  if (report.total === 0) return t("No live run has ended yet, so there is nothing to replay.");
  const total = report.total;
  if (report.status === "running") return tn(total, "Replaying… {done} of {count} run compared.", "Replaying… {done} of {count} runs compared.", { done: total - report.pending });
  if (report.with_changes === 0) return tn(total, "No change: the draft answers like the live version in all {count} run.", "No change: the draft answers like the live version in all {count} runs.");
  return tn(total, "{changed} of {count} run would change.", "{changed} of {count} runs would change.", { changed: report.with_changes });
}

/** A run's badge: what happened to it, in a word or three. */
export function runLabel(run: ReplayRun): string {
  switch (run.status) {
    case "pending":
      return t("Replaying…");
    case "same":
      return t("No change");
    case "changed":
      return tn(run.changed, "{count} step changed", "{count} steps changed");
    case "no_outputs":
      return t("Not compared");
    default:
      return t("Not available");
  }
}

const CHANGE_LABEL: Record<StepChange["change"], string> = {
  same: msg("unchanged"),
  changed: msg("changed"),
  added: msg("only in the draft"),
  removed: msg("not run by the draft"),
};

/** How one step fared. */
export function stepLabel(step: StepChange): string {
  return t(CHANGE_LABEL[step.change]);
}

/** A JSON value shortened for one table cell. */
export function shortJson(value: unknown, max = 120): string {
  const text = value === undefined ? "" : JSON.stringify(value) ?? "";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A field path as people read it: `$.output.greeting` → `output.greeting`. */
export function fieldPath(path: string): string {
  return path.startsWith("$.") ? path.slice(2) : path === "$" ? t("(whole value)") : path;
}
