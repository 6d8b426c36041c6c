// "What changes if I publish": the server's replay report (POST/GET /workflow/{id}/draft/replay)
// and the few sentences the editor makes of it.

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
  if (report.total === 0) return "No live run has ended yet, so there is nothing to replay.";
  const runs = (n: number) => `${n} run${n === 1 ? "" : "s"}`;
  if (report.status === "running") return `Replaying… ${report.total - report.pending} of ${runs(report.total)} compared.`;
  if (report.with_changes === 0) return `No change: the draft answers like the live version in all ${runs(report.total)}.`;
  return `${report.with_changes} of ${runs(report.total)} would change.`;
}

/** A run's badge: what happened to it, in a word or three. */
export function runLabel(run: ReplayRun): string {
  switch (run.status) {
    case "pending":
      return "Replaying…";
    case "same":
      return "No change";
    case "changed":
      return `${run.changed} step${run.changed === 1 ? "" : "s"} changed`;
    case "no_outputs":
      return "Not compared";
    default:
      return "Not available";
  }
}

const CHANGE_LABEL: Record<StepChange["change"], string> = {
  same: "unchanged",
  changed: "changed",
  added: "only in the draft",
  removed: "not run by the draft",
};

/** How one step fared. */
export function stepLabel(step: StepChange): string {
  return CHANGE_LABEL[step.change];
}

/** A JSON value shortened for one table cell. */
export function shortJson(value: unknown, max = 120): string {
  const text = value === undefined ? "" : JSON.stringify(value) ?? "";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A field path as people read it: `$.output.greeting` → `output.greeting`. */
export function fieldPath(path: string): string {
  return path.startsWith("$.") ? path.slice(2) : path === "$" ? "(whole value)" : path;
}
