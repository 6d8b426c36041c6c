// An error for people: the sentence first; the code, reference and raw answer folded away and
// copyable, for whoever the customer asks for help.
import { useRef, useState } from "react";
import { copyText } from "../lib/clipboard";
import { errorReport, shownError } from "../lib/errors";
import { Icon } from "./Icons";
import { t } from "../i18n";

export function ErrorNote({ error, title, compact = false }: { error: unknown; title?: string; compact?: boolean }) {
  const shown = shownError(error);
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const report = useRef<HTMLTextAreaElement>(null);
  const copy = async () => {
    const done = await copyText(errorReport(shown), report.current);
    setCopied(done ? "yes" : "no");
    window.setTimeout(() => setCopied(null), 2500);
  };
  return (
    <div className={`error-note${compact ? " compact" : ""}`} role="alert">
      <p className="error-sentence">
        {title && <strong>{title} </strong>}
        {shown.sentence}
      </p>
      {shown.askAdministrator && !/administrator/i.test(shown.sentence) && (
        <p className="error-admin">
          {shown.code ? (
            <>
              {t("Only your administrator can change this. Ask them and give them the code")} <code>{shown.code}</code>.
            </>
          ) : (
            t("Only your administrator can change this. Ask them.")
          )}
        </p>
      )}
      <details className="error-details">
        <summary>{t("Details for support")}</summary>
        <dl>
          {shown.code && (
            <>
              <dt>{t("Code")}</dt>
              <dd>
                <code>{shown.code}</code>
              </dd>
            </>
          )}
          {shown.reference && (
            <>
              <dt>{t("Reference")}</dt>
              <dd>
                <code>{shown.reference}</code>
              </dd>
            </>
          )}
        </dl>
        {/* Focusable: a long answer scrolls, and keyboard users must be able to scroll it too. */}
        <pre className="error-raw" tabIndex={0} role="region" aria-label={t("The full answer")}>
          {shown.raw}
        </pre>
        <textarea ref={report} className="sr-only" readOnly tabIndex={-1} aria-hidden="true" value={errorReport(shown)} />
      </details>
      <button type="button" className="btn small ghost error-copy" onClick={() => void copy()}>
        <Icon name={copied === "yes" ? "check" : "copy"} size={14} /> {copied === "yes" ? t("Copied") : t("Copy the details")}
      </button>
      {copied === "no" && <span className="muted"> {t("Could not reach the clipboard: open the details and copy them by hand.")}</span>}
    </div>
  );
}
