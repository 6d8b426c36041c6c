// What changed between a published version and the draft, field by field (old → new), with the
// steps and connections added or removed: the canvas colours say where, this list says what.
import { useMemo } from "react";
import type { Graph } from "../lib/types";
import { describeChanges, showValue } from "../model/diff";
import { msg, t, tn } from "../i18n";

const CHANGE_LABEL = { added: msg("added"), removed: msg("removed"), changed: msg("changed") } as const;

export function VersionDiff({ before, after, onGo }: { before: Graph; after: Graph; onGo?(nodeId: string): void }) {
  const changes = useMemo(() => describeChanges(before, after), [before, after]);
  const nothing = changes.steps.length === 0 && changes.edgesAdded.length === 0 && changes.edgesRemoved.length === 0 && changes.notesChanged === 0;
  return (
    <section className="version-diff" aria-label={t("Changes in the draft")}>
      {nothing && <p className="muted">{t("The draft is the same as this version (positions aside).")}</p>}
      {changes.steps.map((step) => (
        <div key={step.id} className={`diff-step diff-${step.change}`}>
          <div className="diff-step-head">
            <strong>{step.name}</strong>
            <span className={`pill diff-pill-${step.change}`}>{t(CHANGE_LABEL[step.change])}</span>
            {onGo && step.change !== "removed" && (
              <button type="button" className="btn small ghost" onClick={() => onGo(step.id)} aria-label={t("Show {name} on the canvas", { name: step.name })}>
                {t("Show")}
              </button>
            )}
          </div>
          {step.fields.length > 0 && (
            <ul className="diff-fields" aria-label={t("Fields changed in {name}", { name: step.name })}>
              {step.fields.map((field) => (
                <li key={field.path}>
                  <code className="diff-path">{field.path}</code>
                  <span className="diff-old">{showValue(field.before)}</span>
                  <span aria-hidden="true"> → </span>
                  <span className="sr-only"> {t("becomes")} </span>
                  <span className="diff-new">{showValue(field.after)}</span>
                </li>
              ))}
            </ul>
          )}
          {step.change === "changed" && step.fields.length === 0 && <p className="muted diff-note">{t("Only its connections changed.")}</p>}
        </div>
      ))}
      {(changes.edgesAdded.length > 0 || changes.edgesRemoved.length > 0) && (
        <ul className="diff-edges" aria-label={t("Connections changed")}>
          {changes.edgesAdded.map((text) => (
            <li key={`+${text}`} className="diff-new">
              + {text}
            </li>
          ))}
          {changes.edgesRemoved.map((text) => (
            <li key={`-${text}`} className="diff-old">
              − {text}
            </li>
          ))}
        </ul>
      )}
      {changes.notesChanged > 0 && (
        <p className="muted diff-note">
          {tn(changes.notesChanged, "{count} note added, edited or removed.", "{count} notes added, edited or removed.")}
        </p>
      )}
    </section>
  );
}
