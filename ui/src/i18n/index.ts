// Messages, dates and numbers in the host's language. The English text is the key: a string
// without a translation (a new one, say) still shows, in English. Each catalogue is its own
// chunk, fetched only when that locale is asked for, so English costs nothing to load.
import { Fragment, createElement, useSyncExternalStore, type ReactNode } from "react";

export const LOCALES = ["en", "de", "fr", "es"] as const;
export type Locale = (typeof LOCALES)[number];
export type Catalogue = Record<string, string>;

const loaders: Record<Exclude<Locale, "en">, () => Promise<{ default: Catalogue }>> = {
  de: () => import("./de"),
  fr: () => import("./fr"),
  es: () => import("./es"),
};

let locale: Locale = "en";
let messages: Catalogue = {};
const listeners = new Set<() => void>();

/** "de-AT", "FR", "es_MX" → the supported locale they start with; anything else → null. */
export function pickLocale(requested: unknown): Locale | null {
  if (typeof requested !== "string") return null;
  const base = requested.trim().toLowerCase().split(/[-_]/)[0];
  return (LOCALES as readonly string[]).includes(base) ? (base as Locale) : null;
}

/** `{name}` placeholders filled from `vars`; unknown placeholders are left as they are. */
export function fill(text: string, vars?: Record<string, string | number>): string {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? formatValue(vars[name]) : whole));
}

function formatValue(value: string | number): string {
  return typeof value === "number" ? formatNumber(value) : value;
}

/** The message in the current language (English when it has no translation). */
export function t(english: string, vars?: Record<string, string | number>): string {
  return fill(messages[english] || english, vars);
}

/** Singular or plural by count: `tn(n, "{count} step", "{count} steps")`. */
export function tn(count: number, one: string, other: string, vars?: Record<string, string | number>): string {
  return t(count === 1 ? one : other, { count, ...vars });
}

export function currentLocale(): Locale {
  return locale;
}

/** Switch language; unknown locales are ignored. Resolves once the catalogue is in. */
export async function setLocale(requested: unknown): Promise<void> {
  const next = pickLocale(requested);
  if (!next || next === locale) return;
  const catalogue = next === "en" ? {} : (await loaders[next]()).default;
  locale = next;
  messages = catalogue;
  if (typeof document !== "undefined") document.documentElement.lang = next;
  listeners.forEach((listener) => listener());
}

/** Use in components that must redraw when the language changes (the root, memoised views). */
export function useLocale(): Locale {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => locale,
  );
}

// Building an Intl formatter costs far more than using one: a canvas of 150 steps formats
// counts on every render, so formatters are kept per locale and options.
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function formatter<T extends Intl.NumberFormat | Intl.DateTimeFormat>(kind: string, options: object | undefined, make: () => T): T {
  const key = `${kind}|${locale}|${JSON.stringify(options ?? {})}`;
  let found = formatters.get(key) as T | undefined;
  if (!found) formatters.set(key, (found = make()));
  return found;
}

export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  return formatter("number", options, () => new Intl.NumberFormat(locale, options)).format(value);
}

export function formatDate(value: string | number | Date, options: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: "short" }): string {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : formatter("date", options, () => new Intl.DateTimeFormat(locale, options)).format(date);
}

/** Marks an English text kept in a constant for `t` later, so the catalogue check finds it. */
export function msg(english: string): string {
  return english;
}

const STATUS: Record<string, string> = {
  COMPLETED: msg("completed"),
  FAILED: msg("failed"),
  RUNNING: msg("running"),
  PAUSED: msg("paused"),
  QUEUED: msg("queued"),
  SKIPPED: msg("skipped"),
  TIMEOUT: msg("timed out"),
  CANCELLED: msg("cancelled"),
  STOPPED: msg("stopped"),
  WAITING: msg("waiting"),
  ERRORED: msg("errored"),
};

/** A run or step status (`COMPLETED`, …) as a word; an unknown one in lower case. */
export function statusText(status: string | null | undefined): string {
  const key = (status ?? "").toUpperCase();
  return key in STATUS ? t(STATUS[key]) : (status ?? "").toLowerCase();
}

/** "850 ms", "1.25 s" (German "1,25 s"): how long a step or run took. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  // SI symbols read the same in every supported language; only the number is localised.
  if (ms < 1000) return `${formatNumber(Math.round(ms))} ms`;
  const digits = ms < 10000 ? 2 : 1;
  return `${formatNumber(ms / 1000, { minimumFractionDigits: digits, maximumFractionDigits: digits })} s`;
}

/** "512 B", "1.5 KB", "2.0 MB" with the locale's decimal mark. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${formatNumber(n)} B`;
  const [value, unit] = n < 1024 * 1024 ? [n / 1024, "KB"] : [n / 1024 / 1024, "MB"];
  return `${formatNumber(value, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} ${unit}`;
}

/** A message with elements in it: `tx("Call {request} with…", { request: <code>…</code> })`. */
export function tx(english: string, parts: Record<string, ReactNode>): ReactNode[] {
  return (messages[english] || english).split(/(\{\w+\})/).map((piece, i) => {
    const name = /^\{(\w+)\}$/.exec(piece)?.[1];
    return createElement(Fragment, { key: i }, name && name in parts ? parts[name] : piece);
  });
}
