// The app catalogue as the editor sees it: the list (names, icons, actions) fetched once, each
// app's detail (parameter and output schemas, connection) fetched once per app and cached; a
// connection change refreshes both. Components subscribe with the hooks below.
import { errorSentence } from "../lib/errors";
import { useEffect, useState, useSyncExternalStore } from "react";
import type { Api } from "../lib/api";
import type { AppActionInfo, AppInfo, JsonSchema } from "../lib/types";

export class AppStore {
  private list: AppInfo[] | null = null;
  private listing: Promise<AppInfo[]> | null = null;
  private details = new Map<string, AppInfo>();
  private loading = new Map<string, Promise<AppInfo>>();
  private listeners = new Set<() => void>();
  private version = 0;
  error: string | null = null;

  constructor(readonly api: Api) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): number => this.version;

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }

  apps(): AppInfo[] | null {
    if (!this.list && !this.listing) void this.loadList();
    return this.list;
  }

  loadList(): Promise<AppInfo[]> {
    this.listing ??= this.api
      .applications()
      .then((apps) => {
        this.list = apps;
        this.error = null;
        this.changed();
        return apps;
      })
      .catch((error) => {
        this.error = errorSentence(error);
        this.listing = null;
        this.changed();
        return [];
      });
    return this.listing;
  }

  summary(slug: string): AppInfo | undefined {
    return this.details.get(slug) ?? this.apps()?.find((a) => a.slug === slug);
  }

  detail(slug: string): AppInfo | undefined {
    if (!this.details.has(slug) && !this.loading.has(slug)) void this.loadDetail(slug);
    return this.details.get(slug);
  }

  loadDetail(slug: string, force = false): Promise<AppInfo> {
    const pending = this.loading.get(slug);
    if (pending && !force) return pending;
    const next = this.api.application(slug).then(
      (app) => {
        this.details.set(slug, app);
        // Keep the list's connection state in step with what the detail says.
        if (this.list) this.list = this.list.map((a) => (a.slug === slug ? { ...a, connected: app.connected, reauth_required: app.reauth_required, connected_accounts: app.connected_accounts } : a));
        this.changed();
        return app;
      },
      (error) => {
        this.loading.delete(slug);
        throw error;
      },
    );
    this.loading.set(slug, next);
    return next;
  }
}

const stores = new WeakMap<Api, AppStore>();

export function appStore(api: Api): AppStore {
  let store = stores.get(api);
  if (!store) {
    store = new AppStore(api);
    stores.set(api, store);
  }
  return store;
}

/** Re-render when the catalogue changes; the store. */
export function useApps(api: Api): AppStore {
  const store = appStore(api);
  useSyncExternalStore(store.subscribe, store.snapshot);
  useEffect(() => void store.apps(), [store]);
  return store;
}

/** One app's detail (fetched once), or undefined while it loads; an error message if it failed. */
export function useAppDetail(api: Api, slug: string | null | undefined): { app?: AppInfo; error?: string } {
  const store = useApps(api);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (!slug) return;
    store.loadDetail(slug).then(
      () => setError(undefined),
      (e) => setError(errorSentence(e)),
    );
  }, [store, slug]);
  return { app: slug ? store.detail(slug) : undefined, error };
}

export function findAction(app: AppInfo | undefined, name: unknown): AppActionInfo | undefined {
  return app?.actions.find((a) => a.name === name);
}

/** A value shaped like `schema`, for the data picker before any run. */
export function exampleOf(schema: JsonSchema | undefined, depth = 0): unknown {
  if (!schema || depth > 6) return undefined;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum?.length) return schema.enum[0];
  const options = schema.anyOf ?? schema.oneOf;
  if (options?.length) return exampleOf(options.find((o) => o.type !== "null") ?? options[0], depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "object" || schema.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(schema.properties ?? {})) out[key] = exampleOf(child, depth + 1) ?? null;
    return out;
  }
  if (type === "array") {
    const item = exampleOf(schema.items, depth + 1);
    return item === undefined ? [] : [item];
  }
  if (type === "string") return "";
  if (type === "integer" || type === "number") return 0;
  if (type === "boolean") return false;
  return undefined;
}

export type ConnectionState = "connected" | "expired" | "missing";

/** How the linked account stands with `app`: connected, expired (reconnect) or not connected. */
export function connectionState(app: Pick<AppInfo, "connected" | "reauth_required">): ConnectionState {
  return app.reauth_required ? "expired" : app.connected ? "connected" : "missing";
}

/** The apps a step may be signed with (those that take credentials), grouped by state. */
export function connectableApps(apps: AppInfo[]): Record<ConnectionState, AppInfo[]> {
  const groups: Record<ConnectionState, AppInfo[]> = { connected: [], expired: [], missing: [] };
  for (const app of apps) if (app.auth_type !== "none") groups[connectionState(app)].push(app);
  for (const list of Object.values(groups)) list.sort((a, b) => a.name.localeCompare(b.name));
  return groups;
}

const OAUTH_REASONS: Record<string, string> = {
  access_denied: "access was not allowed",
  invalid_scope: "the app refused the permissions asked for",
  temporarily_unavailable: "the app could not answer just now",
};

/** What the OAuth callback page posted about `slug`, or null for any other message. */
export function oauthOutcome(data: unknown, slug: string): { ok: true } | { ok: false; reason: string } | null {
  if (!data || typeof data !== "object") return null;
  const message = data as { type?: unknown; app?: unknown; ok?: unknown; error?: unknown; message?: unknown };
  if (message.type !== "weft-oauth" || message.app !== slug) return null;
  if (message.ok === true) return { ok: true };
  const code = typeof message.error === "string" ? message.error : "";
  const said = typeof message.message === "string" && message.message ? message.message : "the sign-in did not finish";
  return { ok: false, reason: OAUTH_REASONS[code] ?? said };
}

/** Words of a search ("hubspot create contact") all found in `text`. */
export function matchesAll(query: string, text: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const hay = text.toLowerCase();
  return words.every((w) => hay.includes(w));
}
