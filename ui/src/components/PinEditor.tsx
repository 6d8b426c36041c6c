// Pinned data as JSON the end customer can edit: checked as they type, applied only when valid.
// The pin is part of the draft (saved with it), so it survives a reload and another device.
import { useEffect, useRef, useState } from "react";
import { CodeField } from "./CodeField";
import { Icon } from "./Icons";
import { t } from "../i18n";

/** Where JSON.parse stopped, as a sentence ("line 2, column 5"), or null when the text parses. */
export function jsonProblem(text: string): string | null {
  if (!text.trim()) return t("Enter a JSON value, for example {example}.", { example: '{"id": 1}' });
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = /position (\d+)/.exec(message);
    if (!at) return t("This is not valid JSON: {message}", { message });
    const before = text.slice(0, Number(at[1]));
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    return t("This is not valid JSON (line {line}, column {column}).", { line, column });
  }
}

export function PinEditor({ nodeId, value, pinned, onSave, onClose }: { nodeId: string; value: unknown; pinned: boolean; onSave(value: unknown): void; onClose(): void }) {
  const [text, setText] = useState(() => JSON.stringify(value ?? {}, null, 2));
  const problem = jsonProblem(text);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Bring the editor into view by scrolling the panel only (scrollIntoView would also scroll
    // the host page around the iframe).
    const element = box.current;
    const panel = element?.closest(".side-scroll");
    if (element && panel) panel.scrollTop = Math.max(0, element.offsetTop - 12);
  }, []);
  return (
    <div className="pin-editor" ref={box}>
      <label className="field-label" htmlFor={`pin-${nodeId}`}>
        {pinned ? t("Pinned data") : t("Data to pin")}
      </label>
      <p className="field-hint">{t("Test runs use this as the step's output instead of running it. Published runs never do.")}</p>
      <CodeField id={`pin-${nodeId}`} label={t("Pinned data (JSON)")} value={text} mode="json" onChange={setText} minLines={6} invalid={problem !== null} />
      <p className={problem ? "field-problem" : "field-hint"} role="status" aria-live="polite">
        {problem ?? t("Valid JSON.")}
      </p>
      <div className="button-row">
        <button type="button" className="btn primary" disabled={problem !== null} onClick={() => onSave(JSON.parse(text))}>
          <Icon name="pin" size={14} /> {pinned ? t("Save pinned data") : t("Pin this data")}
        </button>
        <button type="button" className="btn ghost" onClick={onClose}>
          {t("Cancel")}
        </button>
      </div>
    </div>
  );
}
