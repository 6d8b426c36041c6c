// The postMessage protocol with the host page (docs/embedding.md). Messages go only to the exact
// host origin, and commands are accepted only from it: the origin of the page that framed us,
// when the org lists it in allowed_origins.

export const PROTOCOL = { source: "weft-editor", version: 1 } as const;

export type HostEvent = "ready" | "draftSaved" | "published" | "runFinished" | "dirtyChanged" | "tokenExpiring" | "workflowCreated" | "templateFailed";

export interface ThemeCommand {
  /** "dark" or "light" forces that palette; "auto" follows the browser's prefers-color-scheme. */
  scheme?: string;
  colors?: Record<string, string>;
  radius?: string;
  font?: string;
}

export interface HostHandlers {
  setToken(token: string, expiresAt?: string): void;
  setTheme(theme: ThemeCommand): void;
  /** Show the editor in `locale` ("de", "fr-CA", …); unsupported ones are ignored. */
  setLocale?(locale: string): void;
  /** Start a new workflow from template `template` with `inputs` (checked by the receiver). */
  startFromTemplate?(template: string, inputs: unknown): void;
}

function originOf(url: string | undefined | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** The framing page's origin, when it is one of the allowed origins; otherwise null. */
export function resolveHostOrigin(allowed: string[], win: Window = window): string | null {
  if (win.parent === win) return null;
  const ancestors = (win.location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
  const candidate = (ancestors && ancestors.length > 0 ? ancestors[0] : null) ?? originOf(win.document.referrer);
  const normalised = new Set(allowed.map(originOf).filter(Boolean));
  return candidate && normalised.has(candidate) ? candidate : null;
}

export class HostChannel {
  private listener: ((event: MessageEvent) => void) | null = null;

  constructor(readonly hostOrigin: string | null) {}

  send(type: HostEvent, payload: Record<string, unknown> = {}): void {
    if (!this.hostOrigin) return;
    window.parent.postMessage({ ...PROTOCOL, type, payload }, this.hostOrigin);
  }

  listen(handlers: HostHandlers): () => void {
    this.listener = (event: MessageEvent) => {
      if (!this.hostOrigin || event.origin !== this.hostOrigin || event.source !== window.parent) return;
      const message = event.data as { source?: string; version?: number; type?: string; payload?: Record<string, unknown> };
      if (!message || message.source !== PROTOCOL.source || message.version !== PROTOCOL.version) return;
      const payload = message.payload ?? {};
      if (message.type === "setToken" && typeof payload.token === "string" && payload.token) {
        handlers.setToken(payload.token, typeof payload.expiresAt === "string" ? payload.expiresAt : undefined);
      } else if (message.type === "setTheme") {
        handlers.setTheme(payload as ThemeCommand);
      } else if (message.type === "setLocale" && handlers.setLocale && typeof payload.locale === "string") {
        handlers.setLocale(payload.locale);
      } else if (message.type === "startFromTemplate" && handlers.startFromTemplate) {
        handlers.startFromTemplate(typeof payload.template === "string" ? payload.template : "", payload.inputs);
      }
    };
    window.addEventListener("message", this.listener);
    return () => {
      if (this.listener) window.removeEventListener("message", this.listener);
    };
  }
}

const SAFE_VAR = /^--[a-z0-9-]{1,40}$/;
const SAFE_VALUE = /^[^;{}<>]{1,120}$/;

/** Apply a host theme as CSS variables (names and values checked so a host cannot inject CSS). */
export function applyTheme(theme: ThemeCommand, root: HTMLElement = document.documentElement): void {
  if (theme.scheme !== undefined) applyScheme(theme.scheme, root);
  for (const [name, value] of Object.entries(theme.colors ?? {})) {
    const variable = name.startsWith("--") ? name : `--${name}`;
    if (SAFE_VAR.test(variable) && typeof value === "string" && SAFE_VALUE.test(value)) root.style.setProperty(variable, value);
  }
  if (typeof theme.radius === "string" && SAFE_VALUE.test(theme.radius)) root.style.setProperty("--radius", theme.radius);
  if (typeof theme.font === "string" && SAFE_VALUE.test(theme.font)) root.style.setProperty("--font", theme.font);
}

let chosenScheme: "light" | "dark" | "auto" = "auto";
let followingBrowser = false;

/** Set `data-theme` (the palette in styles.css): the host's "dark" or "light", or with "auto"
 * (the default) the browser's prefers-color-scheme, followed as it changes. Others are ignored. */
export function applyScheme(scheme: unknown, root: HTMLElement = document.documentElement): void {
  if (scheme === "dark" || scheme === "light" || scheme === "auto") chosenScheme = scheme;
  const query = typeof window !== "undefined" && typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  if (query && !followingBrowser) {
    followingBrowser = true;
    query.addEventListener("change", () => applyScheme(undefined, root));
  }
  root.dataset.theme = chosenScheme === "auto" ? (query?.matches ? "dark" : "light") : chosenScheme;
}
