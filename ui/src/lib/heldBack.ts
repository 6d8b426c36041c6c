// Safe test mode's held-back writes, as a test run reports them: a step whose output is
// `{safe_mode: true, would_send}` did not run and shows the request it would have sent.
import { t } from "../i18n";

/** Did safe test mode hold this step back (its output is the would-send stand-in)? */
export function heldBack(output: unknown): boolean {
  return Boolean((output as { safe_mode?: boolean } | null)?.safe_mode);
}

/** What a held-back write would do, in a few words: `POST https://…`, an app action, a sub-workflow. */
export function wouldSendSummary(output: unknown): string {
  const send = (output as { would_send?: Record<string, unknown> } | null)?.would_send ?? {};
  if (typeof send.method === "string" && typeof send.url === "string") return `${send.method} ${send.url}`;
  if (typeof send.app === "string") return `${send.app}: ${String(send.action ?? "")}`;
  if (typeof send.workflow_id === "string") return t("runs another workflow");
  return "";
}

/** The steps of a run that were held back, in run order, among the draft's current nodes. */
export function heldBackSteps(order: string[], outputs: Record<string, { latest_output: unknown }>, nodeIds: Set<string>): string[] {
  return order.filter((id) => nodeIds.has(id) && heldBack(outputs[id]?.latest_output));
}
