// Starting from a template: the inputs a host injects (a URL's base64url JSON or a postMessage
// object) checked before anything is sent, and the fields a template's input schema asks for.
import type { Graph, JsonSchema, Problem } from "./types";
import { t } from "../i18n";

/** What the API takes as inputs (32 KiB of JSON), and its base64url length. */
export const MAX_INPUT_BYTES = 32_768;
export const MAX_INJECTED_CHARS = 43_692;

export class InjectedDataError extends Error {}

/** The injected inputs of a template link: `null`/empty is none; anything odd, a readable error. */
export function decodeInputs(raw: string | null | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (raw.length > MAX_INJECTED_CHARS) throw new InjectedDataError(t("The data sent with this template is too large (at most {size} KB).", { size: MAX_INPUT_BYTES / 1024 }));
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(raw)) throw new InjectedDataError(t("The data sent with this template is not base64url-encoded JSON."));
  let text: string;
  try {
    const binary = atob(raw.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "").padEnd(Math.ceil(raw.replace(/=+$/, "").length / 4) * 4, "="));
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    throw new InjectedDataError(t("The data sent with this template is not base64url-encoded JSON."));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InjectedDataError(t("The data sent with this template is not valid JSON."));
  }
  return checkInputs(value);
}

/** Inputs given as a value (postMessage): a JSON object of bounded size. */
export function checkInputs(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new InjectedDataError(t("The data sent with this template must be a JSON object of input values."));
  let size: number;
  try {
    size = new TextEncoder().encode(JSON.stringify(value)).length;
  } catch {
    throw new InjectedDataError(t("The data sent with this template cannot be read as JSON."));
  }
  if (size > MAX_INPUT_BYTES) throw new InjectedDataError(t("The data sent with this template is too large (at most {size} KB).", { size: MAX_INPUT_BYTES / 1024 }));
  return value as Record<string, unknown>;
}

/** base64url of a JSON value: what a host puts in `inputs=` (docs/templates.md). */
export function encodeInputs(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const TEMPLATE_KEY = /^[a-z0-9][a-z0-9_-]{0,99}$/;

export interface InputField {
  name: string;
  label: string;
  kind: "text" | "number" | "boolean" | "select" | "json";
  required: boolean;
  description?: string;
  options?: unknown[];
  initial: string;
}

function kindOf(schema: JsonSchema): InputField["kind"] {
  if (schema.enum) return "select";
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "string") return "text";
  if (type === "number" || type === "integer") return "number";
  if (type === "boolean") return "boolean";
  return "json";
}

/** The form a template's input schema asks for, its defaults filled in. */
export function inputFields(schema: JsonSchema | undefined): InputField[] {
  const required = new Set(schema?.required ?? []);
  return Object.entries(schema?.properties ?? {}).map(([name, prop]) => {
    const kind = kindOf(prop);
    const fallback = prop.default;
    const initial = fallback === undefined ? "" : kind === "json" ? JSON.stringify(fallback) : String(fallback);
    return { name, label: prop.title ?? name.replace(/_/g, " "), kind, required: required.has(name), description: prop.description, options: prop.enum, initial };
  });
}

/** The values the form holds, typed as the schema says; empty optional fields are left out. */
export function inputValues(fields: InputField[], values: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const text = values[field.name] ?? field.initial;
    if (text === "" && field.kind !== "boolean") continue;
    if (field.kind === "number") out[field.name] = Number(text);
    else if (field.kind === "boolean") out[field.name] = text === "true";
    else if (field.kind === "json") {
      try {
        out[field.name] = JSON.parse(text);
      } catch {
        throw new InjectedDataError(`${field.label}: not valid JSON`);
      }
    } else if (field.kind === "select") out[field.name] = field.options?.find((o) => String(o) === text) ?? text;
    else out[field.name] = text;
  }
  return out;
}

/** The apps whose steps wait for a connection (CONNECTION_REQUIRED), in the steps' order. */
export function appsToConnect(problems: Problem[], graph: Graph): string[] {
  const slugs: string[] = [];
  for (const problem of problems) {
    if (problem.code !== "CONNECTION_REQUIRED" || !problem.node_id) continue;
    const app = graph.nodes.find((n) => n.id === problem.node_id)?.data?.app;
    if (typeof app === "string" && !slugs.includes(app)) slugs.push(app);
  }
  return slugs;
}
