// Showing step data: a plain-text viewer that stays fast on big values (it renders a bounded
// slice and says when the server truncated), and the data picker's clickable tree.
import { useMemo, useState } from "react";
import { formatBytes, t } from "../i18n";

const VIEW_CHARS = 20000;

interface Truncated {
  truncated: true;
  size: number;
  preview: string;
}

function isTruncated(value: unknown): value is Truncated {
  return Boolean(value && typeof value === "object" && (value as Truncated).truncated === true && "preview" in (value as object));
}

export { formatBytes };

export function JsonViewer({ value, label }: { value: unknown; label: string }) {
  const [all, setAll] = useState(false);
  const text = useMemo(() => {
    if (isTruncated(value)) return value.preview;
    if (value === undefined) return "";
    return JSON.stringify(value, null, 2) ?? "null";
  }, [value]);
  const shown = all ? text : text.slice(0, VIEW_CHARS);
  return (
    <div className="json-viewer">
      {isTruncated(value) && (
        <p className="notice" role="note">
          {t("This value is {size}; the server keeps the first 64 KiB, shown below.", { size: formatBytes(value.size) })}
        </p>
      )}
      {value === undefined || value === null ? (
        <p className="muted">{value === null ? <code>null</code> : t("Nothing")}</p>
      ) : (
        <pre tabIndex={0} aria-label={label}>
          {shown}
        </pre>
      )}
      {text.length > VIEW_CHARS && !all && (
        <button type="button" className="btn small ghost" onClick={() => setAll(true)}>
          {t("Show all {size}", { size: formatBytes(text.length) })}
        </button>
      )}
    </div>
  );
}

const MAX_KEYS = 50;

function TreeNode({ name, value, path, depth, onPick }: { name: string; value: unknown; path: string; depth: number; onPick(path: string): void }) {
  const [open, setOpen] = useState(depth < 1);
  const isObject = value !== null && typeof value === "object";
  if (!isObject) {
    const shown = JSON.stringify(value)?.slice(0, 60) ?? "";
    return (
      <li>
        <button type="button" className="tree-leaf" onClick={() => onPick(path)} title={t("Insert {path}", { path })}>
          <span className="tree-key">{name}</span> <span className="tree-value">{shown}</span>
          <span className="sr-only">{t(", insert")} {path}</span>
        </button>
      </li>
    );
  }
  const summary = Array.isArray(value) ? `list · ${value.length}` : "object";
  const entries = Array.isArray(value) ? value.slice(0, MAX_KEYS).map((v, i) => [String(i), v] as const) : Object.entries(value as object).slice(0, MAX_KEYS);
  return (
    <li>
      <div className="tree-branch">
        <button type="button" className="tree-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? "▾" : "▸"}
        </button>
        <button type="button" className="tree-leaf" onClick={() => onPick(path)} title={t("Insert {path}", { path })}>
          <span className="tree-key">{name}</span> <span className="tree-value muted">{summary}</span>
          <span className="sr-only">{t(", insert")} {path}</span>
        </button>
      </div>
      {open && (
        <ul>
          {entries.map(([key, child]) => (
            <TreeNode key={key} name={key} value={child} path={Array.isArray(value) ? `${path}[${key}]` : /^[A-Za-z_]\w*$/.test(key) ? `${path}.${key}` : `${path}.\`${key}\``} depth={depth + 1} onPick={onPick} />
          ))}
        </ul>
      )}
    </li>
  );
}

export interface PickerSource {
  label: string;
  path: string;
  value: unknown;
  example?: boolean;
}

export function DataPicker({ sources, onPick }: { sources: PickerSource[]; onPick(path: string): void }) {
  if (sources.length === 0) return <p className="muted">{t("No earlier steps: this step only sees the trigger.")}</p>;
  return (
    <ul className="tree" aria-label={t("Data from earlier steps")}>
      {sources.map((source) =>
        source.value === undefined ? (
          <li key={source.path}>
            <button type="button" className="tree-leaf" onClick={() => onPick(source.path)} title={t("Insert {path}", { path: source.path })}>
              <span className="tree-key">{source.label}</span> <span className="tree-value muted">{t("run a test to see its data")}</span>
              <span className="sr-only">{t(", insert")} {source.path}</span>
            </button>
          </li>
        ) : (
          <TreeNode key={source.path} name={source.example ? `${source.label} (example)` : source.label} value={source.value} path={source.path} depth={0} onPick={onPick} />
        ),
      )}
    </ul>
  );
}

/** Dotted paths of a value, for completion (bounded in depth and count). */
export function pathsOf(prefix: string, value: unknown, depth = 0, out: string[] = []): string[] {
  out.push(prefix);
  if (depth >= 3 || out.length > 400 || value === null || typeof value !== "object" || Array.isArray(value)) return out;
  for (const [key, child] of Object.entries(value as object).slice(0, MAX_KEYS)) {
    if (/^[A-Za-z_]\w*$/.test(key)) pathsOf(`${prefix}.${key}`, child, depth + 1, out);
  }
  return out;
}
