// Runs (execution history with filters, open read-only, replay) and versions (compare, restore).
import { ErrorNote } from "./ErrorNote";
import "./annotations.css";
import { useCallback, useEffect, useState, type ReactNode } from "react";
import type { Api } from "../lib/api";
import type { Execution, VersionDoc } from "../lib/types";

const STATUSES = ["All", "COMPLETED", "FAILED", "RUNNING", "WAITING", "CANCELLED", "ERRORED"];
// How a run started (the API's trigger_kind), as people name it.
const KINDS: Record<string, string> = {
  api: "API call",
  webhook: "Webhook",
  schedule: "Schedule",
  event: "Event",
  test: "Test",
  app: "App trigger",
  workflow: "Parent workflow",
  rerun: "Rerun",
};
const SEARCH_DEBOUNCE_MS = 300;

function when(iso: string): string {
  const date = new Date(iso);
  return date.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

export function RunsPanel({ api, onOpen, onReplay, openId }: { api: Api; onOpen(run: Execution): void; onReplay(run: Execution): void; openId: string | null }) {
  const [status, setStatus] = useState("All");
  const [kind, setKind] = useState("");
  const [searchText, setSearchText] = useState("");
  const [search, setSearch] = useState("");
  const [tests, setTests] = useState(false);
  const [page, setPage] = useState(1);
  const [runs, setRuns] = useState<Execution[] | null>(null);
  const [hasNext, setHasNext] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const answer = await api.executions({ status, page, tests, kind, search });
      setRuns(answer.docs);
      setHasNext(answer.hasNextPage);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [api, status, page, tests, kind, search]);

  useEffect(() => {
    void load();
  }, [load]);

  // The list follows the search box once typing pauses, not on every key.
  useEffect(() => {
    const handle = window.setTimeout(() => {
      setSearch(searchText);
      setPage(1);
    }, SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(handle);
  }, [searchText]);

  const filtered = status !== "All" || kind !== "" || search.trim() !== "";

  return (
    <section className="panel-body" aria-label="Runs">
      <div className="filters">
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus(e.target.value), setPage(1))}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s === "All" ? "All statuses" : s.charAt(0) + s.slice(1).toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started by
          <select value={kind} onChange={(e) => (setKind(e.target.value), setPage(1))}>
            <option value="">Any start</option>
            {Object.entries(KINDS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="run-search">
          Search
          <input type="search" value={searchText} placeholder="Run id or payload text" onChange={(e) => setSearchText(e.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" checked={tests} onChange={(e) => (setTests(e.target.checked), setPage(1))} /> Include test runs
        </label>
        <button type="button" className="btn small ghost" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {Boolean(error) && <ErrorNote error={error} />}
      {runs && runs.length === 0 && <p className="muted empty">{filtered ? "No run matches these filters." : "No runs yet."}</p>}
      <ul className="run-list" aria-label="Runs of this workflow">
        {runs?.map((run) => (
          <li key={run._id} className={openId === run._id ? "active" : ""}>
            {/* Named by what it shows (axe: label-content-name-mismatch), after a hidden verb; the
                status is lowercased by CSS so its name keeps the API's word. */}
            <button type="button" className="run-open" onClick={() => onOpen(run)}>
              <span className="sr-only">Open run of </span>
              <span className={`pill run-status ${run.status === "COMPLETED" ? "success" : run.status === "RUNNING" || run.status === "QUEUED" || run.status === "WAITING" ? "running" : "danger"}`}>{run.status}</span>
              <span className="run-when">{when(run.createdAt)}</span>
              <span className="run-meta">
{run.is_test ? "test" : `v${run.workflow_version ?? "?"}`} · {run.execution_time !== null ? `${Math.round(run.execution_time)} ms` : "—"}
              </span>
            </button>
            <button type="button" className="btn small ghost" onClick={() => onReplay(run)} aria-label={`Replay the payload of the run of ${when(run.createdAt)} against the draft`}>
              Replay
            </button>
            {/* Beside the button, not in it: its name stays short and matches what it shows. */}
            <div className="run-details">
              <span>
                <span className="run-kind">{kindLabel(run)}</span>
                <span className="run-id" title={run._id}>
                  {" "}· run …{run._id.slice(-6)}
                </span>
              </span>
              {run.payload_summary ? (
                <span className="run-payload" title={run.payload_summary}>
                  {run.payload_summary}
                </span>
              ) : null}
            </div>
          </li>
        ))}
      </ul>
      <div className="pager">
        <button type="button" className="btn small ghost" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          Newer
        </button>
        <span className="muted">Page {page}</span>
        <button type="button" className="btn small ghost" disabled={!hasNext} onClick={() => setPage(page + 1)}>
          Older
        </button>
      </div>
    </section>
  );
}

function kindLabel(run: Execution): string {
  const kind = run.trigger_kind ?? run.trigger;
  return KINDS[kind] ?? kind;
}

/** `details`: what changed, shown under the version being compared. */
export function VersionsPanel({ api, currentVersion, onCompare, onRestore, comparing, refreshKey, details }: { api: Api; currentVersion: number; onCompare(version: number | null): void; onRestore(version: number): void; comparing: number | null; refreshKey: number; details?: ReactNode }) {
  const [versions, setVersions] = useState<VersionDoc[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api
      .versions()
      .then((page) => setVersions(page.docs))
      .catch((e) => setError(e));
  }, [api, refreshKey]);

  return (
    <section className="panel-body" aria-label="Versions">
      <p className="field-hint">Every publish makes a version. Compare one with your draft, or restore it into the draft.</p>
      {Boolean(error) && <ErrorNote error={error} />}
      {versions && versions.length === 0 && <p className="muted empty">Nothing published yet.</p>}
      <ul className="version-list" aria-label="Published versions">
        {versions?.map((v) => {
          const live = v.live ?? v.version === currentVersion;
          return (
            <li key={v.version} className={comparing === v.version ? "active" : ""}>
              <div className="version-title">
                <strong>Version {v.version}</strong>
                {live && <span className="pill success">live</span>}
                <span className="muted">{when(v.createdAt)}</span>
              </div>
              <div className="button-row">
                <button type="button" className="btn small" aria-pressed={comparing === v.version} onClick={() => onCompare(comparing === v.version ? null : v.version)}>
                  {comparing === v.version ? "Stop comparing" : "Compare with draft"}
                </button>
                <button type="button" className="btn small ghost" onClick={() => onRestore(v.version)} aria-label={`Restore version ${v.version} into the draft`}>
                  Restore
                </button>
              </div>
              {comparing === v.version && details}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
