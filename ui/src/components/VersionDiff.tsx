// What changed between a published version and the draft, field by field (old → new), with the
// steps and connections added or removed: the canvas colours say where, this list says what.
import { useMemo } from "react";
import type { Graph } from "../lib/types";
import { describeChanges, showValue } from "../model/diff";

const CHANGE_LABEL = { added: "added", removed: "removed", changed: "changed" } as const;

export function VersionDiff({ before, after, onGo }: { before: Graph; after: Graph; onGo?(nodeId: string): void }) {
  const changes = useMemo(() => describeChanges(before, after), [before, after]);
  const nothing = changes.steps.length === 0 && changes.edgesAdded.length === 0 && changes.edgesRemoved.length === 0 && changes.notesChanged === 0;
  return (
    <section className="version-diff" aria-label="Changes in the draft">
      {nothing && <p className="muted">The draft is the same as this version (positions aside).</p>}
      {changes.steps.map((step) => (
        <div key={step.id} className={`diff-step diff-${step.change}`}>
          <div className="diff-step-head">
            <strong>{step.name}</strong>
            <span className={`pill diff-pill-${step.change}`}>{CHANGE_LABEL[step.change]}</span>
            {onGo && step.change !== "removed" && (
              <button type="button" className="btn small ghost" onClick={() => onGo(step.id)} aria-label={`Show ${step.name} on the canvas`}>
                Show
              </button>
            )}
          </div>
          {step.fields.length > 0 && (
            <ul className="diff-fields" aria-label={`Fields changed in ${step.name}`}>
              {step.fields.map((field) => (
                <li key={field.path}>
                  <code className="diff-path">{field.path}</code>
                  <span className="diff-old">{showValue(field.before)}</span>
                  <span aria-hidden="true"> → </span>
                  <span className="sr-only"> becomes </span>
                  <span className="diff-new">{showValue(field.after)}</span>
                </li>
              ))}
            </ul>
          )}
          {step.change === "changed" && step.fields.length === 0 && <p className="muted diff-note">Only its connections changed.</p>}
        </div>
      ))}
      {(changes.edgesAdded.length > 0 || changes.edgesRemoved.length > 0) && (
        <ul className="diff-edges" aria-label="Connections changed">
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
          {changes.notesChanged} note{changes.notesChanged > 1 ? "s" : ""} added, edited or removed.
        </p>
      )}
    </section>
  );
}
