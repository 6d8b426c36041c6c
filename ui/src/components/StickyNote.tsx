// A sticky note on the canvas: text for the people who edit the workflow. Dragged by its border
// and head; the text area takes clicks and keys as a text field (React Flow's "nodrag").
import { memo, useEffect, useRef } from "react";
import type { Node, NodeProps } from "@xyflow/react";
import { Icon } from "./Icons";
import { t, useLocale } from "../i18n";

export interface NoteViewData extends Record<string, unknown> {
  noteId: string;
  text: string;
  color: string;
  width: number;
  height: number;
  readOnly: boolean;
  focus: boolean;
  onText(noteId: string, text: string): void;
  onRemove(noteId: string): void;
}

export const StickyNoteView = memo(function StickyNoteView({ data, selected }: NodeProps<Node<NoteViewData>>) {
  useLocale(); // memoised: redraw its labels when the language changes
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (data.focus) field.current?.focus({ preventScroll: true });
  }, [data.focus]);
  return (
    <div className={`sticky-note note-${data.color}${selected ? " selected" : ""}`} style={{ width: data.width, height: data.height }} data-testid={`note-${data.noteId}`}>
      <div className="sticky-note-head">
        <Icon name="note" size={12} />
        <span>{t("Note")}</span>
        {!data.readOnly && (
          <button type="button" className="icon-btn nodrag" aria-label={t("Delete this note")} title={t("Delete this note")} onClick={() => data.onRemove(data.noteId)}>
            <Icon name="x" size={12} />
          </button>
        )}
      </div>
      <textarea
        ref={field}
        className="nodrag nowheel"
        aria-label={t("Note text")}
        placeholder={t("Write a note for whoever edits this workflow")}
        value={data.text}
        readOnly={data.readOnly}
        maxLength={5000}
        onChange={(e) => data.onText(data.noteId, e.target.value)}
      />
    </div>
  );
});
