// The start node's panel section: which kind of trigger starts the workflow, with help for each:
// the API call to make, the webhook URL with a copy button (known before publish), a schedule
// builder showing the next five runs, the org's declared events, or an app's trigger with its
// parameters as a form.
import { copyText } from "../lib/clipboard";
import { useEffect, useMemo, useState } from "react";
import type { Api } from "../lib/api";
import type { OrgEvent, Problem } from "../lib/types";
import { dayNames, TRIGGER_KINDS, cronOf, parseCron, type ScheduleForm } from "../model/trigger";
import { exampleOf, useAppDetail, useApps } from "../state/apps";
import { describeError } from "../state/useEditor";
import { AppIcon } from "./AppIcon";
import type { CodeMode } from "./CodeField";
import { ParamsForm } from "./AppStep";
import { Connection } from "./ConnectApp";
import { Icon } from "./Icons";
import { currentLocale, t, tx, useLocale } from "../i18n";

interface Props {
  api: Api;
  data: Record<string, unknown>;
  onChange(data: Record<string, unknown>): void;
  problems: Problem[];
  paths: () => string[];
  onFocusField(mode: CodeMode, source: () => unknown): void;
  onConnected(): void;
  webhook: { path: string | null | undefined; live: boolean | undefined };
  readOnly: boolean;
}

/** The browser's IANA timezone (the account's, as far as the editor knows). */
export function localZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

const noSample = (value: unknown) => value === undefined || value === null || (typeof value === "object" && Object.keys(value as object).length === 0);

export function TriggerStep(props: Props) {
  const { data, onChange, readOnly } = props;
  const kind = String(data.trigger ?? "manual");
  const kindHint = TRIGGER_KINDS.find((k) => k.value === kind)?.hint;
  const hint = kindHint && t(kindHint);
  const choose = (value: string) => {
    if (value === kind) return;
    // Keep only what every kind shares; the new kind starts from its own defaults.
    const next: Record<string, unknown> = { trigger: value };
    if (data.sample_payload !== undefined) next.sample_payload = data.sample_payload;
    if (value === "schedule") Object.assign(next, { cron: "0 9 * * *", timezone: localZone() });
    onChange(next);
  };
  return (
    <div className="trigger-step">
      <div className="field">
        <span className="field-label" id="trigger-kind-label">
          {t("Starts on")}
        </span>
        <div className="trigger-kinds" role="radiogroup" aria-labelledby="trigger-kind-label">
          {TRIGGER_KINDS.map((k) => (
            <button
              key={k.value}
              type="button"
              role="radio"
              aria-checked={kind === k.value}
              tabIndex={kind === k.value ? 0 : -1}
              className={`trigger-kind${kind === k.value ? " active" : ""}`}
              disabled={readOnly}
              onClick={() => choose(k.value)}
              onKeyDown={(e) => {
                const at = TRIGGER_KINDS.findIndex((t) => t.value === kind);
                const step = e.key === "ArrowRight" || e.key === "ArrowDown" ? 1 : e.key === "ArrowLeft" || e.key === "ArrowUp" ? -1 : 0;
                if (!step) return;
                e.preventDefault();
                const next = TRIGGER_KINDS[(at + step + TRIGGER_KINDS.length) % TRIGGER_KINDS.length];
                choose(next.value);
                window.setTimeout(() => (document.querySelector(`.trigger-kind[aria-checked="true"]`) as HTMLElement | null)?.focus(), 0);
              }}
            >
              {t(k.label)}
            </button>
          ))}
        </div>
        {hint && <p className="field-hint">{hint}</p>}
      </div>
      {kind === "manual" && <ManualHelp api={props.api} />}
      {kind === "webhook" && <WebhookUrl api={props.api} webhook={props.webhook} />}
      {kind === "schedule" && <ScheduleBuilder api={props.api} data={data} onChange={onChange} readOnly={readOnly} />}
      {kind === "event" && <EventPicker api={props.api} data={data} onChange={onChange} readOnly={readOnly} />}
      {kind === "app" && <AppTriggerPicker {...props} />}
    </div>
  );
}

function ManualHelp({ api }: { api: Api }) {
  return (
    <p className="field-hint">
      {tx("Call {request} with the payload as the body; it becomes {trigger}.", {
        request: <code>POST {api.base.replace(/^https?:\/\/[^/]+/, "")}/workflow/{api.workflowId}/execute</code>,
        trigger: <code>trigger</code>,
      })}
    </p>
  );
}

// ——— Webhook ———

function WebhookUrl({ api, webhook }: { api: Api; webhook: Props["webhook"] }) {
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const url = webhook.path ? new URL(webhook.path, new URL(api.base, window.location.href)).href : null;
  const copy = async () => {
    if (!url) return;
    const done = await copyText(url, document.getElementById("webhook-url") as HTMLInputElement | null);
    setCopied(done ? "yes" : "no");
    window.setTimeout(() => setCopied(null), 2500);
  };
  return (
    <div className="field">
      <label htmlFor="webhook-url">{t("Webhook URL")}</label>
      {url ? (
        <div className="copy-row">
          <input id="webhook-url" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" className="btn small" onClick={() => void copy()} aria-label={t("Copy the webhook URL")}>
            <Icon name={copied === "yes" ? "check" : "copy"} size={14} /> {copied === "yes" ? t("Copied") : t("Copy")}
          </button>
        </div>
      ) : (
        <p className="muted">{t("Saving the draft gives this workflow its URL…")}</p>
      )}
      <p className="field-hint" aria-live="polite">
        {copied === "no" ? `${t("Could not reach the clipboard: the URL is selected, copy it with Ctrl+C.")} ` : ""}
        {webhook.live ? t("Live: requests to this URL start runs.") : t("This URL starts runs once you publish; it stays the same after.")} {tx("Send any method; the run's {trigger} is {fields}.", { trigger: <code>trigger</code>, fields: <code>{"{body, query, headers, method}"}</code> })}
      </p>
    </div>
  );
}

// ——— Schedule ———

function ScheduleBuilder({ api, data, onChange, readOnly }: { api: Api; data: Record<string, unknown>; onChange: Props["onChange"]; readOnly: boolean }) {
  const locale = useLocale();
  const cron = typeof data.cron === "string" ? data.cron : "";
  const timezone = typeof data.timezone === "string" && data.timezone ? data.timezone : "UTC";
  const [form, setForm] = useState<ScheduleForm>(() => parseCron(cron));
  const [runs, setRuns] = useState<{ next?: string[]; problem?: string | null; error?: string }>({});
  // Someone else changed the cron (undo, another kind): show it in the builder.
  useEffect(() => {
    if (cronOf(form) !== cron) setForm(parseCron(cron));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cron]);
  useEffect(() => {
    if (!cron) return setRuns({ problem: t("Set a schedule.") });
    const handle = window.setTimeout(() => {
      api.schedulePreview(cron, timezone).then(
        (answer) => setRuns({ next: answer.next_runs, problem: answer.problem }),
        (error) => setRuns({ error: describeError(error) }),
      );
    }, 250);
    return () => window.clearTimeout(handle);
  }, [api, cron, timezone]);
  const update = (patch: Partial<ScheduleForm>) => {
    const next = { ...form, ...patch };
    if (patch.mode === "cron" && !patch.cron) next.cron = cronOf(form);
    setForm(next);
    const nextCron = cronOf(next);
    if (nextCron !== cron) onChange({ ...data, cron: nextCron || null, timezone });
  };
  const zones = useMemo(() => {
    const known = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
    return Array.from(new Set(["UTC", localZone(), timezone, ...known]));
  }, [timezone]);
  const format = useMemo(() => new Intl.DateTimeFormat(currentLocale(), { weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: timezone }), [timezone, locale]);
  return (
    <div className="schedule-builder">
      <div className="field">
        <label htmlFor="schedule-mode">{t("Repeat")}</label>
        <select id="schedule-mode" value={form.mode} disabled={readOnly} onChange={(e) => update({ mode: e.target.value as ScheduleForm["mode"] })}>
          <option value="minutes">{t("Every N minutes")}</option>
          <option value="hours">{t("Every N hours")}</option>
          <option value="daily">{t("Every day at")}</option>
          <option value="weekly">{t("Every week on")}</option>
          <option value="cron">{t("Custom (cron)")}</option>
        </select>
      </div>
      {(form.mode === "minutes" || form.mode === "hours") && (
        <div className="field">
          <label htmlFor="schedule-every">{form.mode === "hours" ? t("Every how many hours") : t("Every how many minutes")}</label>
          <input id="schedule-every" type="number" min={1} max={form.mode === "minutes" ? 59 : 23} value={form.every} disabled={readOnly} onChange={(e) => update({ every: Number(e.target.value) })} />
        </div>
      )}
      {form.mode === "weekly" && (
        <div className="field">
          <label htmlFor="schedule-day">{t("Day")}</label>
          <select id="schedule-day" value={form.day} disabled={readOnly} onChange={(e) => update({ day: Number(e.target.value) })}>
            {dayNames().map((d, i) => (
              <option key={d} value={i}>
                {d}
              </option>
            ))}
          </select>
        </div>
      )}
      {(form.mode === "daily" || form.mode === "weekly") && (
        <div className="field">
          <label htmlFor="schedule-time">{t("At")}</label>
          <input id="schedule-time" type="time" value={form.time} disabled={readOnly} onChange={(e) => e.target.value && update({ time: e.target.value })} />
        </div>
      )}
      {form.mode === "cron" && (
        <div className="field">
          <label htmlFor="schedule-cron">{t("Cron expression")}</label>
          <input id="schedule-cron" value={form.cron} spellCheck={false} placeholder={t("minute hour day month weekday")} disabled={readOnly} onChange={(e) => update({ cron: e.target.value })} />
          <p className="field-hint">{t("Five fields: minute hour day-of-month month day-of-week, e.g.")} <code>0 9 * * 1-5</code>.</p>
        </div>
      )}
      <div className="field">
        <label htmlFor="schedule-timezone">{t("Timezone")}</label>
        <select id="schedule-timezone" value={timezone} disabled={readOnly} onChange={(e) => onChange({ ...data, timezone: e.target.value })}>
          {zones.map((z) => (
            <option key={z} value={z}>
              {z}
              {z === localZone() ? t(" (yours)") : ""}
            </option>
          ))}
        </select>
        {form.mode !== "cron" && (
          <p className="field-hint">
            {t("Cron:")} <code>{cron}</code>
          </p>
        )}
      </div>
      <div className="next-runs" aria-live="polite">
        <h4>{t("Next runs")}</h4>
        {runs.error || runs.problem ? (
          <p className="field-problem" role="alert">
            {runs.error ?? runs.problem}
          </p>
        ) : runs.next ? (
          <ol aria-label={t("Next runs")}>
            {runs.next.map((when) => (
              <li key={when}>{format.format(new Date(when))}</li>
            ))}
          </ol>
        ) : (
          <p className="muted">{t("Working out the next runs…")}</p>
        )}
        <p className="field-hint">{t("Shown in {timezone}.", { timezone })}</p>
      </div>
    </div>
  );
}

// ——— Org events ———

function EventPicker({ api, data, onChange, readOnly }: { api: Api; data: Record<string, unknown>; onChange: Props["onChange"]; readOnly: boolean }) {
  const [events, setEvents] = useState<OrgEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api
      .workflow()
      .then((wf) => api.appEvents(wf.slug))
      .then(
        (found) => live && setEvents(found),
        (e) => live && setError(describeError(e)),
      );
    return () => {
      live = false;
    };
  }, [api]);
  const name = typeof data.event === "string" ? data.event : "";
  const chosen = events?.find((e) => e.name === name);
  const pick = (value: string) => {
    const event = events?.find((e) => e.name === value);
    const next: Record<string, unknown> = { ...data, event: value || null };
    // The event's sample (or an example of its schema) feeds the data picker and test runs.
    if (event && noSample(data.sample_payload)) next.sample_payload = event.response ?? exampleOf(event.json_schema ?? undefined) ?? null;
    onChange(next);
  };
  return (
    <div className="field">
      <label htmlFor="trigger-event">{t("Event")}</label>
      {events && events.length > 0 ? (
        <select id="trigger-event" value={name} disabled={readOnly} onChange={(e) => pick(e.target.value)}>
          <option value="">{t("Choose an event…")}</option>
          {events.map((e) => (
            <option key={e.name} value={e.name}>
              {e.name}
            </option>
          ))}
          {name && !chosen && <option value={name}>{name} {t("(not declared)")}</option>}
        </select>
      ) : (
        <input id="trigger-event" value={name} disabled={readOnly} placeholder={t("Event name")} onChange={(e) => onChange({ ...data, event: e.target.value || null })} />
      )}
      {error && <p className="field-problem">{error}</p>}
      {events && events.length === 0 && <p className="field-hint">{t("Your org has declared no events yet (POST /application/event); type the name your app sends.")}</p>}
      {chosen?.json_schema && (
        <details className="event-schema">
          <summary>{t("Payload fields")}</summary>
          <ul>
            {Object.entries(chosen.json_schema.properties ?? {}).map(([key, schema]) => (
              <li key={key}>
                <code>trigger.{key}</code> <span className="muted">{String(schema.type ?? "")}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

// ——— App triggers ———

function AppTriggerPicker(props: Props) {
  const { api, data, onChange, readOnly } = props;
  const apps = useApps(api);
  const slug = typeof data.app === "string" ? data.app : "";
  const { app, error } = useAppDetail(api, slug || null);
  const withTriggers = (apps.apps() ?? []).filter((a) => (a.triggers ?? []).length > 0);
  const trigger = app?.triggers?.find((t) => t.name === data.app_trigger);
  const params = (data.params && typeof data.params === "object" ? data.params : {}) as Record<string, unknown>;
  const pickTrigger = (name: string) => {
    const found = app?.triggers?.find((t) => t.name === name);
    const next: Record<string, unknown> = { ...data, app_trigger: name || null, params: {} };
    if (found?.output && noSample(data.sample_payload)) next.sample_payload = exampleOf(found.output) ?? null;
    onChange(next);
  };
  return (
    <>
      <div className="field">
        <label htmlFor="trigger-app">{t("App")}</label>
        <div className="copy-row">
          {slug && <AppIcon slug={slug} name={app?.name ?? slug} icon={app?.icon ?? null} size={28} />}
          <select id="trigger-app" value={slug} disabled={readOnly} onChange={(e) => onChange({ ...data, app: e.target.value || null, app_trigger: null, params: {} })}>
            <option value="">{t("Choose an app…")}</option>
            {withTriggers.map((a) => (
              <option key={a.slug} value={a.slug}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
        {error && <p className="field-problem">{error}</p>}
      </div>
      {slug && app && (
        <div className="field">
          <label htmlFor="trigger-app-trigger">{t("Trigger")}</label>
          <select id="trigger-app-trigger" value={String(data.app_trigger ?? "")} disabled={readOnly} onChange={(e) => pickTrigger(e.target.value)}>
            <option value="">{t("Choose a trigger…")}</option>
            {(app.triggers ?? []).map((t) => (
              <option key={t.name} value={t.name}>
                {t.label}
              </option>
            ))}
          </select>
          {trigger && (
            <p className="field-hint">
              {trigger.description ? `${trigger.description} ` : ""}
              {trigger.kind === "polling" ? t("Checks for new items every {minutes} min.", { minutes: Math.round((trigger.interval_s ?? 300) / 60) }) : t("The app sends each event as it happens.")}
            </p>
          )}
        </div>
      )}
      {app && trigger && Object.keys(trigger.parameters?.properties ?? {}).length > 0 && (
        <ParamsForm
          action={{ name: trigger.name, label: trigger.label, parameters: trigger.parameters }}
          params={params}
          onChange={(next) => onChange({ ...data, params: next })}
          problems={props.problems}
          paths={props.paths}
          onFocusField={props.onFocusField}
        />
      )}
      {app && trigger && <Connection app={app} api={api} problems={props.problems} onConnected={props.onConnected} readOnly={readOnly} />}
    </>
  );
}
