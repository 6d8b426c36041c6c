// Runs (execution history with filters, open read-only, replay) and versions (compare, restore).
import { ErrorNote } from "./ErrorNote";
import "./annotations.css";
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import type { Api } from "../lib/api";
import type { Execution, VersionDoc } from "../lib/types";
import { formatDate, formatDuration, msg, statusText, t } from "../i18n";

const STATUSES = ["All", "COMPLETED", "FAILED", "RUNNING", "WAITING", "CANCELLED", "ERRORED"];
// How a run started (the API's trigger_kind), as people name it.
const KINDS: Record<string, string> = {
  api: msg("API call"),
  webhook: msg("Webhook"),
  schedule: msg("Schedule"),
  event: msg("Event"),
  test: msg("Test"),
  app: msg("App trigger"),
  workflow: msg("Parent workflow"),
  rerun: msg("Rerun"),
};
const SEARCH_DEBOUNCE_MS = 300;

function when(iso: string): string {
  return formatDate(iso, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
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

  // Answers can arrive out of order (a slow one for the filters before): only the latest
  // request's answer fills the list, or the list would show filters no longer chosen.
  const latest = useRef(0);
  const load = useCallback(async () => {
    const ticket = ++latest.current;
    try {
      const answer = await api.executions({ status, page, tests, kind, search });
      if (ticket !== latest.current) return;
      setRuns(answer.docs);
      setHasNext(answer.hasNextPage);
      setError(null);
    } catch (e) {
      if (ticket === latest.current) setError(e);
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
    <section className="panel-body" aria-label={t("Runs")}>
      <div className="filters">
        <label>
          {t("Status")}
          <select value={status} onChange={(e) => (setStatus(e.target.value), setPage(1))}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s === "All" ? t("All statuses") : statusText(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("Started by")}
          <select value={kind} onChange={(e) => (setKind(e.target.value), setPage(1))}>
            <option value="">{t("Any start")}</option>
            {Object.entries(KINDS).map(([value, label]) => (
              <option key={value} value={value}>
                {t(label)}
              </option>
            ))}
          </select>
        </label>
        <label className="run-search">
          {t("Search")}
          <input type="search" value={searchText} placeholder={t("Run id or payload text")} onChange={(e) => setSearchText(e.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" checked={tests} onChange={(e) => (setTests(e.target.checked), setPage(1))} /> {t("Include test runs")}
        </label>
        <button type="button" className="btn small ghost" onClick={() => void load()}>
          {t("Refresh")}
        </button>
      </div>
      {Boolean(error) && <ErrorNote error={error} />}
      {runs && runs.length === 0 && <p className="muted empty">{filtered ? t("No run matches these filters.") : t("No runs yet.")}</p>}
      <ul className="run-list" aria-label={t("Runs of this workflow")}>
        {runs?.map((run) => (
          <li key={run._id} className={openId === run._id ? "active" : ""}>
            {/* Named by what it shows (axe: label-content-name-mismatch), after a hidden verb. */}
            <button type="button" className="run-open" onClick={() => onOpen(run)}>
              <span className="sr-only">{t("Open run of")} </span>
              <span className={`pill run-status ${run.status === "COMPLETED" ? "success" : run.status === "RUNNING" || run.status === "QUEUED" || run.status === "WAITING" ? "running" : "danger"}`}>{statusText(run.status)}</span>
              <span className="run-when">{when(run.createdAt)}</span>
              <span className="run-meta">
                {run.is_test ? t("test") : `v${run.workflow_version ?? "?"}`} · {run.execution_time !== null ? formatDuration(run.execution_time) : "—"}
              </span>
            </button>
            <button type="button" className="btn small ghost" onClick={() => onReplay(run)} aria-label={t("Replay the payload of the run of {date} against the draft", { date: when(run.createdAt) })}>
              {t("Replay")}
            </button>
            {/* Beside the button, not in it: its name stays short and matches what it shows. */}
            <div className="run-details">
              <span>
                <span className="run-kind">{kindLabel(run)}</span>
                <span className="run-id" title={run._id}>
                  {" "}· {t("run …{id}", { id: run._id.slice(-6) })}
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
          {t("Newer")}
        </button>
        <span className="muted">{t("Page {page}", { page })}</span>
        <button type="button" className="btn small ghost" disabled={!hasNext} onClick={() => setPage(page + 1)}>
          {t("Older")}
        </button>
      </div>
    </section>
  );
}

function kindLabel(run: Execution): string {
  const kind = run.trigger_kind ?? run.trigger;
  return kind in KINDS ? t(KINDS[kind]) : kind;
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
    <section className="panel-body" aria-label={t("Versions")}>
      <p className="field-hint">{t("Every publish makes a version. Compare one with your draft, or restore it into the draft.")}</p>
      {Boolean(error) && <ErrorNote error={error} />}
      {versions && versions.length === 0 && <p className="muted empty">{t("Nothing published yet.")}</p>}
      <ul className="version-list" aria-label={t("Published versions")}>
        {versions?.map((v) => {
          const live = v.live ?? v.version === currentVersion;
          return (
            <li key={v.version} className={comparing === v.version ? "active" : ""}>
              <div className="version-title">
                <strong>{t("Version {version}", { version: v.version })}</strong>
                {live && <span className="pill success">{t("live")}</span>}
                <span className="muted">{when(v.createdAt)}</span>
              </div>
              <div className="button-row">
                <button type="button" className="btn small" aria-pressed={comparing === v.version} onClick={() => onCompare(comparing === v.version ? null : v.version)}>
                  {comparing === v.version ? t("Stop comparing") : t("Compare with draft")}
                </button>
                <button type="button" className="btn small ghost" onClick={() => onRestore(v.version)} aria-label={t("Restore version {version} into the draft", { version: v.version })}>
                  {t("Restore")}
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
