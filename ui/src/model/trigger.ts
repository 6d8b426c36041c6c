// The start node's trigger in words, and the schedule builder's cron forms: every N minutes,
// every N hours, daily at, weekly on, or a raw cron expression.

import { currentLocale, msg, t, tn } from "../i18n";

export type ScheduleMode = "minutes" | "hours" | "daily" | "weekly" | "cron";

export interface ScheduleForm {
  mode: ScheduleMode;
  every: number;
  time: string; // HH:MM
  day: number; // 0 = Sunday
  cron: string;
}

/** The weekday names in the editor's language, Sunday first (Intl: no catalogue entry needed). */
export function dayNames(): string[] {
  const format = new Intl.DateTimeFormat(currentLocale(), { weekday: "long", timeZone: "UTC" });
  // 2023-01-01 was a Sunday.
  return Array.from({ length: 7 }, (_, day) => format.format(Date.UTC(2023, 0, 1 + day)));
}

const pad = (n: number) => String(n).padStart(2, "0");

/** The builder's fields that produce `cron` (mode "cron" when no simple form does). */
export function parseCron(cron: string | undefined | null): ScheduleForm {
  const base: ScheduleForm = { mode: "daily", every: 15, time: "09:00", day: 1, cron: cron ?? "" };
  if (!cron) return base;
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) return { ...base, mode: "cron" };
  const [min, hour, dom, mon, dow] = f;
  const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : NaN);
  const rest = dom === "*" && mon === "*";
  let m: RegExpMatchArray | null;
  if (rest && dow === "*" && hour === "*" && (m = /^\*\/(\d+)$/.exec(min))) return { ...base, mode: "minutes", every: Number(m[1]) };
  if (rest && dow === "*" && hour === "*" && min === "*") return { ...base, mode: "minutes", every: 1 };
  if (rest && dow === "*" && !isNaN(num(min)) && (m = /^\*\/(\d+)$/.exec(hour))) return { ...base, mode: "hours", every: Number(m[1]) };
  if (rest && !isNaN(num(min)) && !isNaN(num(hour)) && num(min) < 60 && num(hour) < 24) {
    const time = `${pad(num(hour))}:${pad(num(min))}`;
    if (dow === "*") return { ...base, mode: "daily", time };
    if (/^[0-7]$/.test(dow)) return { ...base, mode: "weekly", time, day: Number(dow) % 7 };
  }
  return { ...base, mode: "cron" };
}

export function cronOf(form: ScheduleForm): string {
  const [h, m] = (form.time || "00:00").split(":").map((x) => Number(x) || 0);
  const every = Math.max(1, Math.floor(form.every || 1));
  switch (form.mode) {
    case "minutes":
      return every === 1 ? "* * * * *" : `*/${every} * * * *`;
    case "hours":
      return `0 */${every} * * *`;
    case "daily":
      return `${m} ${h} * * *`;
    case "weekly":
      return `${m} ${h} * * ${form.day}`;
    default:
      return form.cron.trim();
  }
}

/** "Every day at 09:00", "Every Monday at 09:00", "Every 15 minutes", or the cron itself. */
export function describeCron(cron: string | undefined | null): string {
  if (!cron) return t("Schedule");
  const form = parseCron(cron);
  switch (form.mode) {
    case "minutes":
      return tn(form.every, "Every minute", "Every {count} minutes");
    case "hours": {
      const minute = cron.trim().split(/\s+/)[0];
      const every = tn(form.every, "Every hour", "Every {count} hours");
      return minute !== "0" ? t("{every} at :{minute}", { every, minute: pad(Number(minute)) }) : every;
    }
    case "daily":
      return t("Every day at {time}", { time: form.time });
    case "weekly":
      return t("Every {day} at {time}", { day: dayNames()[form.day], time: form.time });
    default:
      return `${t("Schedule")} · ${cron}`;
  }
}

export const TRIGGER_KINDS: { value: string; label: string; hint: string }[] = [
  { value: "manual", label: msg("API call"), hint: msg("Runs when your app calls the execute API (or the SDK's execute).") },
  { value: "webhook", label: msg("Webhook"), hint: msg("Runs on every request to its URL.") },
  { value: "schedule", label: msg("Schedule"), hint: msg("Runs on a timetable.") },
  { value: "event", label: msg("Org event"), hint: msg("Runs when your app sends one of your declared events.") },
  { value: "app", label: msg("App trigger"), hint: msg("Runs when something happens in a connected app.") },
];

/** What the Start card says: "Webhook", "Every day at 09:00", "Stripe · New charge". */
export function triggerLabel(data: Record<string, unknown>, app?: { name: string; triggers?: { name: string; label: string }[] }): string {
  switch (data.trigger ?? "manual") {
    case "webhook":
      return data.sync ? t("Webhook (answers the caller)") : t("Webhook");
    case "schedule":
      return describeCron(typeof data.cron === "string" ? data.cron : null);
    case "event":
      return data.event ? `${t("Event")} · ${String(data.event)}` : t("Org event");
    case "app": {
      if (!data.app) return t("App trigger");
      const trigger = app?.triggers?.find((t) => t.name === data.app_trigger);
      return `${app?.name ?? String(data.app)} · ${trigger?.label ?? String(data.app_trigger ?? t("choose a trigger"))}`;
    }
    default:
      return t("API call");
  }
}
