// A node's form, generated from the JSON Schema the API serves (the backend's pydantic model):
// enums become selects, booleans checkboxes, numbers number inputs, expression and template
// fields CodeMirror, objects fieldsets, lists of objects repeatable groups, anything else JSON.
import { useState } from "react";
import type { JsonSchema, NodeType, Problem } from "../lib/types";
import { CodeField, useLatest, type CodeMode } from "./CodeField";
import { problemText } from "../lib/problems";
import { t } from "../i18n";

const ADVANCED = ["retry", "on_error", "timeout_s"];

// Fields that only mean something for one choice of another field (the start node's trigger
// kinds): hidden otherwise, unless they already hold a value.
const SHOWN_WHEN: Record<string, Record<string, [string, string]>> = {
  start: { event: ["trigger", "event"], sync: ["trigger", "webhook"], cron: ["trigger", "schedule"], timezone: ["trigger", "schedule"] },
};

function visible(nodeType: NodeType, data: Record<string, unknown>, key: string): boolean {
  const rule = SHOWN_WHEN[nodeType.type]?.[key];
  if (!rule) return true;
  const [field, wanted] = rule;
  return (data[field] ?? (nodeType.defaults ?? {})[field]) === wanted || (data[key] !== undefined && data[key] !== null);
}

/** `cases.0.expression` → `cases[].expression`, the form the API names field paths in. */
function specOf(path: string): string {
  return path.replace(/\.(\d+)(?=\.|$)/g, "[]");
}

/** How a string field is edited: a whole JSONata expression, a {{ }} template, or plain text. */
function stringMode(nodeType: NodeType, path: string, name: string, value: unknown): "expression" | "template" | "text" {
  const spec = specOf(path);
  const top = spec.split(".")[0].replace("[]", "");
  if (nodeType.bare_expression_fields ? nodeType.bare_expression_fields.includes(spec) : isBareExpression(name)) return "expression";
  if ((nodeType.template_fields ?? nodeType.expression_fields).includes(top) || /{{/.test(String(value ?? ""))) return "template";
  return "text";
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let i = 0; i < 10 && current.$ref; i += 1) {
    const name = current.$ref.split("/").pop()!;
    current = { ...(root.$defs?.[name] ?? {}), ...current, $ref: undefined };
  }
  if (current.allOf?.length === 1) current = { ...resolve(current.allOf[0], root), ...current, allOf: undefined };
  return current;
}

/** The schema with `X | None` unwrapped: the UI treats null as "not set". */
function unwrapNullable(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const resolved = resolve(schema, root);
  const options = resolved.anyOf ?? resolved.oneOf;
  if (options) {
    const real = options.filter((o) => o.type !== "null");
    if (real.length === 1) return { ...resolve(real[0], root), title: resolved.title, description: resolved.description, default: resolved.default };
  }
  return resolved;
}

/** What a select shows for `value`: the registry's label, else the code word made readable. */
export function optionLabel(schema: JsonSchema, value: unknown): string {
  const label = schema["x-option-labels"]?.[String(value)];
  if (label) return label;
  const text = String(value);
  // Code words (exponential, on_error) read as words; names in capitals (GET) stay as they are.
  return text === text.toUpperCase() ? text : humanise(text);
}

export function humanise(key: string): string {
  const text = key.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

interface FieldProps {
  path: string;
  name: string;
  schema: JsonSchema;
  root: JsonSchema;
  value: unknown;
  onChange(value: unknown): void;
  nodeType: NodeType;
  paths: () => string[];
  problems: Problem[];
  onFocusField(mode: CodeMode, source: () => unknown): void;
}

function JsonField({ path, name, value, onChange, paths, invalid, onFocusField }: Omit<FieldProps, "schema" | "root" | "nodeType" | "problems"> & { invalid: boolean }) {
  const [text, setText] = useState(() => (value === undefined ? "" : JSON.stringify(value, null, 2)));
  const [error, setError] = useState<string | null>(null);
  const currentText = useLatest(text);
  return (
    <>
      <CodeField
        id={`f-${path}`}
        label={humanise(name)}
        value={text}
        mode="json"
        minLines={3}
        paths={paths}
        invalid={invalid || Boolean(error)}
        onFocus={() => onFocusField("template", () => (currentText.current.trim() ? safeParse(currentText.current) : null))}
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

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function Field(props: FieldProps) {
  const { path, name, root, value, onChange, nodeType, paths, problems, onFocusField } = props;
  const currentValue = useLatest(value);
  const schema = unwrapNullable(props.schema, root);
  const label = schema.title && schema.title !== name ? schema.title : humanise(name);
  const own = problems.filter((p) => p.field === path || p.field === name);
  const invalid = own.length > 0;
  const id = `f-${path}`;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  let control: React.ReactNode;

  if (schema.enum || schema.const !== undefined) {
    const options = schema.enum ?? [schema.const];
    control = (
      <select id={id} value={String(value ?? schema.default ?? "")} aria-invalid={invalid} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={String(o)} value={String(o)}>
            {optionLabel(schema, o)}
          </option>
        ))}
      </select>
    );
  } else if (types.includes("boolean")) {
    control = <input id={id} type="checkbox" checked={Boolean(value ?? schema.default)} onChange={(e) => onChange(e.target.checked)} />;
  } else if (types.includes("integer") || types.includes("number")) {
    control = (
      <input
        id={id}
        type="number"
        aria-invalid={invalid}
        value={value === undefined || value === null ? "" : String(value)}
        placeholder={schema.default !== undefined && schema.default !== null ? String(schema.default) : t("Not set")}
        min={schema.minimum}
        max={schema.maximum}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
      />
    );
  } else if (types.includes("string") && types.length === 1) {
    const code = nodeType.type === "code" && name === "source";
    const kind = stringMode(nodeType, path, name, value);
    if (code || kind !== "text") {
      const mode: CodeMode = code ? "javascript" : kind === "expression" ? "expression" : "template";
      control = (
        <CodeField
          id={id}
          label={label}
          value={String(value ?? "")}
          mode={mode}
          minLines={code ? 6 : 1}
          paths={paths}
          invalid={invalid}
          placeholder={mode === "expression" ? t("e.g. nodes.fetch_user.status = 200") : mode === "template" ? t("Text, or {{ expression }}") : undefined}
          onFocus={() => onFocusField(mode, () => currentValue.current)}
          onChange={(next) => onChange(next)}
        />
      );
    } else {
      control = <input id={id} type="text" aria-invalid={invalid} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)} />;
    }
  } else if (types.includes("array") && schema.items && resolve(schema.items, root).properties) {
    const items = Array.isArray(value) ? value : [];
    const itemSchema = resolve(schema.items, root);
    control = (
      <div className="repeat">
        {items.map((item, index) => (
          <fieldset key={index} className="repeat-item">
            <legend>
              {humanise(name)} {index + 1}
            </legend>
            <ObjectFields
              {...props}
              path={`${path}.${index}`}
              schema={itemSchema}
              value={item as Record<string, unknown>}
              onChange={(next) => onChange(items.map((old, i) => (i === index ? next : old)))}
            />
            <button type="button" className="btn ghost small" onClick={() => onChange(items.filter((_, i) => i !== index))}>
              {t("Remove")}
            </button>
          </fieldset>
        ))}
        <button type="button" className="btn small" onClick={() => onChange([...items, {}])}>
          {t("Add {item}", { item: humanise(name).toLowerCase().replace(/s$/, "") })}
        </button>
      </div>
    );
  } else if (types.includes("object") && schema.properties) {
    control = (
      <fieldset className="nested">
        <ObjectFields {...props} schema={schema} value={(value ?? {}) as Record<string, unknown>} onChange={onChange} />
      </fieldset>
    );
  } else {
    control = <JsonField path={path} name={name} value={value} onChange={onChange} paths={paths} invalid={invalid} onFocusField={onFocusField} />;
  }

  const inline = types.includes("boolean");
  return (
    <div className={`field${inline ? " inline" : ""}${invalid ? " has-problem" : ""}`}>
      <label htmlFor={id} id={`${id}-label`}>
        {label}
      </label>
      {control}
      {schema.description && <p className="field-hint">{schema.description}</p>}
      {own.map((p, i) => (
        <p key={i} className="field-problem" role="alert">
          {problemText(p)}
        </p>
      ))}
    </div>
  );
}

function isBareExpression(name: string): boolean {
  // Templates are JSON values with {{ }}; these fields' whole text is one JSONata expression.
  return name === "expression" || name === "items";
}

function ObjectFields(props: FieldProps & { value: Record<string, unknown> | undefined }) {
  const schema = resolve(props.schema, props.root);
  const value = props.value ?? {};
  const entries = Object.entries(schema.properties ?? {});
  return (
    <>
      {entries.map(([key, child]) => (
        <Field
          key={key}
          {...props}
          path={`${props.path}.${key}`}
          name={key}
          schema={child}
          value={value[key]}
          onChange={(next) => {
            const copy = { ...value };
            if (next === undefined) delete copy[key];
            else copy[key] = next;
            props.onChange(copy);
          }}
        />
      ))}
    </>
  );
}

interface FormProps {
  nodeType: NodeType;
  data: Record<string, unknown>;
  onChange(data: Record<string, unknown>): void;
  paths: () => string[];
  problems: Problem[];
  onFocusField(mode: CodeMode, source: () => unknown): void;
  /** A step's own section, shown after the fields it builds on and before "More options". */
  children?: React.ReactNode;
}

export function SchemaForm({ nodeType, data, onChange, paths, problems, onFocusField, children }: FormProps) {
  const root = nodeType.schema;
  const schema = resolve(root, root);
  const hidden = new Set(nodeType.hidden_fields ?? []);
  const props = Object.entries(schema.properties ?? {}).filter(([key]) => !hidden.has(key) && visible(nodeType, data, key));
  const render = (keys: [string, JsonSchema][]) =>
    keys.map(([key, child]) => (
      <Field
        key={key}
        path={key}
        name={key}
        schema={child}
        root={root}
        value={data[key]}
        nodeType={nodeType}
        paths={paths}
        problems={problems}
        onFocusField={onFocusField}
        onChange={(next) => {
          const copy = { ...data };
          if (next === undefined) delete copy[key];
          else copy[key] = next;
          onChange(copy);
        }}
      />
    ));
  const advancedKeys = new Set(nodeType.advanced_fields ?? ADVANCED);
  const main = props.filter(([key]) => !advancedKeys.has(key));
  const advanced = props.filter(([key]) => advancedKeys.has(key));
  return (
    <div className="schema-form">
      {main.length === 0 && nodeType.type !== "app_action" && <p className="muted">{t("This step has nothing to configure.")}</p>}
      {render(main)}
      {children}
      {advanced.length > 0 && (
        <details className="advanced">
          <summary>{t("More options")}</summary>
          {render(advanced)}
        </details>
      )}
    </div>
  );
}
