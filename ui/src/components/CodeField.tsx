// A CodeMirror 6 field for expressions, templates, JSON and code, with completion of upstream
// node names and fields. The last focused field is remembered so the data picker can insert
// a reference at its cursor.
import { useEffect, useRef } from "react";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder as placeholderExt } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { autocompletion, closeBrackets, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";

export type CodeMode = "expression" | "template" | "json" | "javascript";

export interface FocusedField {
  mode: CodeMode;
  insert(text: string): void;
}

let lastFocused: FocusedField | null = null;

/** A ref holding this render's `value`: a field's preview source reads the text as it is now, not
 * as it was when the field was focused. */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}
export const focusedField = (): FocusedField | null => lastFocused;

/** Turn a path into the text a field of this mode needs to reference it. */
export function referenceFor(mode: CodeMode, path: string): string {
  if (mode === "expression" || mode === "javascript") return mode === "javascript" ? `input.${path}` : path;
  return `{{ ${path} }}`;
}

function completionSource(getPaths: () => string[], mode: CodeMode) {
  return (context: CompletionContext): CompletionResult | null => {
    if (mode === "template" || mode === "json") {
      const before = context.state.sliceDoc(0, context.pos);
      const open = before.lastIndexOf("{{");
      if (open < 0 || before.lastIndexOf("}}") > open) return null;
    }
    const word = context.matchBefore(/[\w.$]+/);
    if (!word && !context.explicit) return null;
    const from = word ? word.from : context.pos;
    const prefix = mode === "javascript" ? "input." : "";
    return {
      from,
      options: getPaths().map((path) => ({ label: prefix + path, type: path.includes(".") ? "property" : "variable" })),
      validFor: /^[\w.$]*$/,
    };
  };
}

interface Props {
  id: string;
  label: string;
  value: string;
  mode: CodeMode;
  onChange(value: string): void;
  paths?: () => string[];
  placeholder?: string;
  minLines?: number;
  readOnly?: boolean;
  invalid?: boolean;
  onFocus?(): void;
}

export function CodeField({ id, label, value, mode, onChange, paths, placeholder, minLines = 1, readOnly, invalid, onFocus }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef({ onChange, paths, onFocus });
  latest.current = { onChange, paths, onFocus };

  useEffect(() => {
    const language = mode === "javascript" ? [javascript()] : mode === "json" ? [json()] : [];
    const state = EditorState.create({
      doc: value,
      extensions: [
        history(),
        closeBrackets(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        ...language,
        autocompletion({ override: [completionSource(() => latest.current.paths?.() ?? [], mode)], icons: false }),
        EditorView.lineWrapping,
        EditorState.readOnly.of(Boolean(readOnly)),
        EditorView.contentAttributes.of({ "aria-label": label, id, "aria-multiline": "true" }),
        placeholder ? placeholderExt(placeholder) : [],
        EditorView.updateListener.of((update) => {
          if (update.docChanged) latest.current.onChange(update.state.doc.toString());
          if (update.focusChanged && update.view.hasFocus) {
            const current = update.view;
            lastFocused = {
              mode,
              insert(text: string) {
                const { from, to } = current.state.selection.main;
                current.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length } });
                current.focus();
              },
            };
            latest.current.onFocus?.();
          }
        }),
        EditorView.theme({ ".cm-content": { minHeight: `${minLines * 1.5}em` } }),
      ],
    });
    view.current = new EditorView({ state, parent: host.current! });
    return () => view.current?.destroy();
    // The editor is created once per field; value changes flow in through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [mode, readOnly]);

  useEffect(() => {
    const current = view.current;
    if (current && current.state.doc.toString() !== value) {
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div ref={host} className={`code-field mode-${mode}${invalid ? " invalid" : ""}`} data-field={id} />;
}
