// An app step's panel section: the app and its action (with a picker), the connection state
// with "Connect" in place (ConnectApp: the key form, or the OAuth popup), and the
// parameters form generated from the action's `parameters` JSON schema. Every field takes a
// fixed value or an expression ({{ }}), with the data picker; a field declaring
// `x-weft-options` picks from the list the connected app gives (OptionsPicker).
import { useRef, useState } from "react";
import type { Api } from "../lib/api";
import type { AppActionInfo, JsonSchema, ParamOptions, Problem } from "../lib/types";
import { dependencyKey } from "../model/options";
import { problemText } from "../lib/problems";
import { findAction, useAppDetail } from "../state/apps";
import { AppIcon } from "./AppIcon";
import { CodeField, useLatest, type CodeMode } from "./CodeField";
import { Connection } from "./ConnectApp";
import { humanise } from "./SchemaForm";
import { Icon } from "./Icons";
import { OptionsPicker } from "./OptionsPicker";
import { t } from "../i18n";

interface Props {
  api: Api;
  data: Record<string, unknown>;
  onChange(data: Record<string, unknown>): void;
  problems: Problem[];
  paths: () => string[];
  onFocusField(mode: CodeMode, source: () => unknown): void;
  onConnected(): void;
  readOnly: boolean;
}

export function AppStep(props: Props) {
  const { api, data, onChange, problems, readOnly } = props;
  const slug = typeof data.app === "string" ? data.app : null;
  const { app, error } = useAppDetail(api, slug);
  const action = findAction(app, data.action);
  const params = (data.params && typeof data.params === "object" ? data.params : {}) as Record<string, unknown>;
  const connectButton = useRef<HTMLButtonElement | null>(null);

  if (!slug) return <p className="muted">{t("This step runs an action of the workflow's own app: {action}.", { action: String(data.action ?? "") })}</p>;
  if (error && !app) return <p className="field-problem" role="alert">{t("Could not load {name}: {error}", { name: slug, error })}</p>;
  if (!app) return <p className="muted">{t("Loading {name}…", { name: slug })}</p>;

  return (
    <div className="app-step">
      <div className="app-step-head">
        <AppIcon slug={app.slug} name={app.name} icon={app.icon} size={36} />
        <div>
          <div className="app-step-name">{app.name}</div>
          {app.description && <div className="field-hint">{app.description}</div>}
        </div>
      </div>
      <div className="field">
        <label htmlFor="app-action">{t("Action")}</label>
        <select
          id="app-action"
          value={String(data.action ?? "")}
          disabled={readOnly}
          aria-invalid={problems.some((p) => p.field === "action")}
          onChange={(e) => onChange({ ...data, action: e.target.value, params: {} })}
        >
          {!action && <option value={String(data.action ?? "")}>{data.action ? String(data.action) : t("Pick an action")}</option>}
          {app.actions.map((a) => (
            <option key={a.name} value={a.name}>
              {a.label}
            </option>
          ))}
        </select>
        {action?.description && <p className="field-hint">{action.description}</p>}
        {action && action.effect !== "read" && <p className="field-hint">{t("Sends data to {name}: test runs hold it back (safe mode) unless you run it for real.", { name: app.name })}</p>}
      </div>
      <Connection app={app} api={api} problems={problems} onConnected={props.onConnected} readOnly={readOnly} buttonRef={connectButton} />
      {action ? (
        <ParamsForm
          action={action}
          params={params}
          options={{
            load: (param, values, refresh) => api.paramOptions(app.slug, action.name, param, values, refresh),
            reloadKey: `${app.connected}-${app.reauth_required}-${app.connected_accounts[0]?.identifier ?? ""}`,
            onConnect: () => {
              // "nearest": only the panel scrolls, never the framed page.
              connectButton.current?.scrollIntoView({ block: "nearest" });
              connectButton.current?.click();
            },
          }}
          onChange={(next) => onChange({ ...data, params: next })}
          problems={problems}
          paths={props.paths}
          onFocusField={props.onFocusField}
        />
      ) : (
        <p className="muted">{t("Pick one of the {name} actions above.", { name: app.name })}</p>
      )}
    </div>
  );
}

// ——— Parameters ———

function typesOf(schema: JsonSchema): string[] {
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (!types.length && schema.properties) return ["object"];
  if (!types.length && schema.enum) return ["string"];
  return types.filter((t) => t !== "null");
}

function unwrap(schema: JsonSchema): JsonSchema {
  const options = schema.anyOf ?? schema.oneOf;
  if (options) {
    const real = options.filter((o) => o.type !== "null");
    if (real.length === 1) return { ...real[0], title: schema.title ?? real[0].title, description: schema.description ?? real[0].description, default: schema.default ?? real[0].default };
  }
  return schema;
}

const isExpression = (value: unknown) => typeof value === "string" && value.includes("{{");

interface ParamsProps {
  /** What the form needs of an action (an mcp tool or an app trigger passes the same). */
  action: Pick<AppActionInfo, "name" | "label" | "parameters">;
  params: Record<string, unknown>;
  onChange(params: Record<string, unknown>): void;
  problems: Problem[];
  paths: () => string[];
  onFocusField(mode: CodeMode, source: () => unknown): void;
  /** The data key the values live under (`params`; an mcp step's `arguments`). */
  field?: string;
  /** Loads the choices of parameters declaring `x-weft-options` (app steps only). */
  options?: OptionsLoader;
}

interface OptionsLoader {
  load(param: string, values: Record<string, unknown>, refresh: boolean): Promise<ParamOptions>;
  /** Changes when every list must be loaded again (the app was connected). */
  reloadKey: string;
  onConnect?: () => void;
}

export function ParamsForm({ action, params, onChange, problems, paths, onFocusField, field: under = "params", options }: ParamsProps) {
  const schema = action.parameters ?? { type: "object" };
  const props = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  // Required fields in the order `required` lists them: an array keeps its order where a
  // stored schema's keys may not (PostgreSQL's JSONB sorts them).
  const first = [...required].flatMap((k) => props.filter(([name]) => name === k));
  const rest = props.filter(([k]) => !required.has(k));
  const extra = Object.keys(params).filter((k) => !(schema.properties ?? {})[k]);
  const field = ([key, child]: [string, JsonSchema]) => (
    <ParamField
      key={key}
      path={`${under}.${key}`}
      name={key}
      schema={child}
      required={required.has(key)}
      value={params[key]}
      problems={problems}
      paths={paths}
      onFocusField={onFocusField}
      all={params}
      under={under}
      options={options}
      onChange={(next) => {
        const copy = { ...params };
        if (next === undefined) delete copy[key];
        else copy[key] = next;
        onChange(copy);
      }}
    />
  );
  const generalProblems = problems.filter((p) => p.field === under);
  return (
    <div className="schema-form params-form">
      <h3 className="section-title">{t("Parameters")}</h3>
      {props.length === 0 && <p className="muted">{t("This action takes no parameters.")}</p>}
      {first.map(field)}
      {rest.length > 0 && first.length > 0 && rest.length > 4 ? (
        <details className="advanced" open={rest.some(([k]) => params[k] !== undefined)}>
          <summary>{t("Optional fields ({count})", { count: rest.length })}</summary>
          {rest.map(field)}
        </details>
      ) : (
        rest.map(field)
      )}
      {extra.length > 0 && <p className="field-hint warn">{t("Also set, not in this action’s schema:")} {extra.join(", ")}</p>}
      {generalProblems.map((p, i) => (
        <p key={i} className="field-problem" role="alert">
          {problemText(p)}
        </p>
      ))}
    </div>
  );
}

interface ParamFieldProps {
  path: string;
  name: string;
  schema: JsonSchema;
  required: boolean;
  value: unknown;
  onChange(value: unknown): void;
  problems: Problem[];
  paths: () => string[];
  onFocusField(mode: CodeMode, source: () => unknown): void;
  /** Every parameter's value (a list may depend on another parameter). */
  all: Record<string, unknown>;
  under: string;
  options?: OptionsLoader;
}

function ParamField(props: ParamFieldProps) {
  const { path, name, required, value, onChange, problems, paths, onFocusField, all, under, options } = props;
  const currentValue = useLatest(value);
  const schema = unwrap(props.schema);
  const types = typesOf(schema);
  const label = schema.title && schema.title !== name ? schema.title : humanise(name);
  const own = problems.filter((p) => p.field === path || (p.field ?? "").startsWith(`${path}.`) || (p.field ?? "").startsWith(`${path}[`));
  const invalid = own.length > 0;
  const id = `f-${path}`;
  const source = options ? schema["x-weft-options"] : undefined;
  const plainString = types.length === 1 && types[0] === "string" && !schema.enum && !source;
  // Fields other than plain text switch between a typed control and an expression.
  const [expr, setExpr] = useState(() => isExpression(value));
  const canToggle = !plainString;
  let control: React.ReactNode;

  const template = (placeholder: string) => (
    <CodeField
      id={id}
      label={label}
      value={typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value)}
      mode="template"
      paths={paths}
      invalid={invalid}
      placeholder={placeholder}
      onFocus={() => onFocusField("template", () => currentValue.current)}
      onChange={(next) => onChange(next === "" ? undefined : next)}
    />
  );

  if (plainString || (canToggle && expr)) {
    control = template(plainString ? (schema.default !== undefined ? t("Default: {value}", { value: String(schema.default) }) : t("Text, or {{ expression }}")) : "{{ expression }}");
  } else if (source && options) {
    const param = path.slice(under.length + 1);
    control = (
      <OptionsPicker
        id={id}
        label={label}
        value={value}
        invalid={invalid}
        onChange={(next) => onChange(typeof next === "string" && !types.includes("string") && next.trim() !== "" && Number.isFinite(Number(next)) ? Number(next) : next)}
        load={(refresh) => options.load(param, all, refresh)}
        reloadKey={`${options.reloadKey}|${dependencyKey(source, all)}`}
        onConnect={options.onConnect}
      />
    );
  } else if (schema.enum) {
    control = (
      <select id={id} aria-invalid={invalid} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value === "" ? undefined : schema.enum!.find((o) => String(o) === e.target.value))}>
        <option value="">{schema.default !== undefined ? t("Default ({value})", { value: String(schema.default) }) : "—"}</option>
        {schema.enum.map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (types.includes("boolean")) {
    control = (
      <select id={id} aria-invalid={invalid} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value === "true")}>
        <option value="">{schema.default !== undefined ? t("Default ({value})", { value: schema.default ? t("yes") : t("no") }) : "—"}</option>
        <option value="true">{t("Yes")}</option>
        <option value="false">{t("No")}</option>
      </select>
    );
  } else if (types.includes("integer") || types.includes("number")) {
    control = (
      <input
        id={id}
        type="number"
        aria-invalid={invalid}
        step={types.includes("integer") ? 1 : "any"}
        value={value === undefined || value === null ? "" : String(value)}
        placeholder={schema.default !== undefined ? t("Default: {value}", { value: String(schema.default) }) : ""}
        min={schema.minimum}
        max={schema.maximum}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
      />
    );
  } else if (types.includes("object") && schema.properties && Object.keys(schema.properties).length > 0) {
    const inner = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
    const req = new Set(schema.required ?? []);
    control = (
      <fieldset className="nested" id={id}>
        {Object.entries(schema.properties).map(([key, child]) => (
          <ParamField
            key={key}
            {...props}
            path={`${path}.${key}`}
            name={key}
            schema={child}
            required={req.has(key)}
            value={inner[key]}
            onChange={(next) => {
              const copy = { ...inner };
              if (next === undefined) delete copy[key];
              else copy[key] = next;
              onChange(Object.keys(copy).length ? copy : undefined);
            }}
          />
        ))}
      </fieldset>
    );
  } else if (types.includes("array") && schema.items && ["string", "integer", "number"].includes(String(unwrap(schema.items).type)) && !unwrap(schema.items).enum) {
    const items = Array.isArray(value) ? value : [];
    const itemType = String(unwrap(schema.items).type);
    control = (
      <div className="repeat" id={id}>
        {items.map((item, index) => (
          <div key={index} className="repeat-row">
            <input
              type={itemType === "string" ? "text" : "number"}
              aria-label={`${label} ${index + 1}`}
              value={String(item ?? "")}
              onChange={(e) => onChange(items.map((old, i) => (i === index ? (itemType === "string" ? e.target.value : Number(e.target.value)) : old)))}
            />
            <button type="button" className="icon-btn" aria-label={t("Remove {label} {value}", { label, value: index + 1 })} onClick={() => onChange(items.length > 1 ? items.filter((_, i) => i !== index) : undefined)}>
              <Icon name="x" size={12} />
            </button>
          </div>
        ))}
        <button type="button" className="btn small" onClick={() => onChange([...items, itemType === "string" ? "" : 0])}>
          {t("Add {item}", { item: label.toLowerCase() })}
        </button>
      </div>
    );
  } else if (types.includes("array") && schema.items && unwrap(schema.items).properties) {
    const items = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
    const itemSchema = unwrap(schema.items);
    control = (
      <div className="repeat" id={id}>
        {items.map((item, index) => (
          <fieldset key={index} className="repeat-item">
            <legend>
              {label} {index + 1}
            </legend>
            <ParamField
              {...props}
              path={`${path}[${index}]`}
              name={`${name} ${index + 1}`}
              schema={{ ...itemSchema, title: `${label} ${index + 1}` }}
              required={false}
              value={item}
              onChange={(next) => onChange(items.map((old, i) => (i === index ? next ?? {} : old)))}
            />
            <button type="button" className="btn ghost small" onClick={() => onChange(items.filter((_, i) => i !== index))}>
              {t("Remove")}
            </button>
          </fieldset>
        ))}
        <button type="button" className="btn small" onClick={() => onChange([...items, {}])}>
          {t("Add {item}", { item: label.toLowerCase() })}
        </button>
      </div>
    );
  } else {
    // Free-form objects and anything else: JSON, with {{ }} allowed inside strings.
    control = <JsonParam id={id} label={label} value={value} onChange={onChange} paths={paths} invalid={invalid} onFocusField={onFocusField} />;
  }

  return (
    <div className={`field param${invalid ? " has-problem" : ""}`}>
      <div className="param-label">
        <span className="param-label-text">
        <label htmlFor={id} id={`${id}-label`}>
          {label}
          {required && (
            <span className="required" aria-label={t("required")}>
              {" "}
              *
            </span>
          )}
        </label>
        <span className="param-type">{schema.enum ? t("choice") : types.join(" | ") || t("any")}</span>
        </span>
        {canToggle && (
          <button
            type="button"
            className={`mode-toggle${expr ? " on" : ""}`}
            aria-pressed={expr}
            aria-label={t("{label}: use an expression", { label })}
            title={expr ? t("Use a fixed value") : t("Use an expression ({{ }})")}
            onClick={() => {
              setExpr(!expr);
              onChange(undefined);
            }}
          >
            {"{ }"}
          </button>
        )}
      </div>
      {control}
      {schema.description && <p className="field-hint">{schema.description}</p>}
      {schema.default !== undefined && !schema.description?.includes("efault") && <p className="field-hint">{t("Default:")} {JSON.stringify(schema.default)}</p>}
      {own.map((p, i) => (
        <p key={i} className="field-problem" role="alert">
          {problemText(p)}
        </p>
      ))}
    </div>
  );
}

function JsonParam({ id, label, value, onChange, paths, invalid, onFocusField }: { id: string; label: string; value: unknown; onChange(v: unknown): void; paths: () => string[]; invalid: boolean; onFocusField(mode: CodeMode, source: () => unknown): void }) {
  const [text, setText] = useState(() => (value === undefined ? "" : JSON.stringify(value, null, 2)));
  const [error, setError] = useState<string | null>(null);
  const currentValue = useLatest(value);
  return (
    <>
      <CodeField
        id={id}
        label={label}
        value={text}
        mode="json"
        minLines={3}
        paths={paths}
        invalid={invalid || Boolean(error)}
        placeholder={t("{\"key\": \"value or {{ expression }}\"}")}
        onFocus={() => onFocusField("template", () => currentValue.current)}
        onChange={(next) => {
          setText(next);
          if (!next.trim()) {
            setError(null);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(next));
            setError(null);
          } catch {
            setError(t("Not valid JSON yet: the last valid value is kept."));
          }
        }}
      />
      {error && <p className="field-hint warn">{error}</p>}
    </>
  );
}
