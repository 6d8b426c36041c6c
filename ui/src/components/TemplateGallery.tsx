// The template gallery: the org's templates as cards (icon, description, the apps each needs),
// searched by name, description or category; picking one asks for its inputs (when its schema
// declares any) and creates the account's own workflow from it.
import { useEffect, useMemo, useState } from "react";
import type { Api } from "../lib/api";
import type { Draft, TemplateInfo } from "../lib/types";
import { InjectedDataError, inputFields, inputValues, type InputField } from "../lib/templates";
import { connectionState, matchesAll, useApps, type AppStore } from "../state/apps";
import { describeError } from "../state/useEditor";
import { AppIcon } from "./AppIcon";
import { Icon } from "./Icons";
import { t, tn } from "../i18n";

interface Props {
  api: Api;
  onCreated(draft: Draft, template: TemplateInfo | null): void;
  /** In the editor: back to the workflow. */
  onClose?(): void;
  /** On the start page: offer an empty workflow too. */
  allowBlank?: boolean;
}

export function TemplateGallery({ api, onCreated, onClose, allowBlank }: Props) {
  const apps = useApps(api);
  const [all, setAll] = useState<TemplateInfo[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState<string | null>(null);
  const [picked, setPicked] = useState<TemplateInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.templates().then(
      (answer) => live && setAll(answer.templates),
      (error) => live && setLoadError(describeError(error)),
    );
    return () => {
      live = false;
    };
  }, [api]);

  const categories = useMemo(() => [...new Set((all ?? []).map((t) => t.category).filter(Boolean))].sort(), [all]);
  const shown = useMemo(
    () => (all ?? []).filter((t) => (!category || t.category === category) && matchesAll(query, `${t.name} ${t.description} ${t.category}`)),
    [all, query, category],
  );

  const start = async (template: TemplateInfo | null, inputs: Record<string, unknown> = {}) => {
    setBusy(true);
    setStartError(null);
    try {
      const answer = template ? await api.startFromTemplate(template.key, inputs) : await api.createWorkflow();
      onCreated(answer.workflow, template);
    } catch (error) {
      setStartError(describeError(error));
      setBusy(false);
    }
  };

  const pick = (template: TemplateInfo) => {
    setStartError(null);
    if (inputFields(template.inputs).length > 0) setPicked(template);
    else void start(template);
  };

  return (
    <section className="gallery" aria-labelledby="gallery-title">
      <header className="gallery-head">
        <div>
          <h2 id="gallery-title">{picked ? picked.name : t("Start from a template")}</h2>
          <p className="muted">{picked ? t("Fill in what this template needs; you can change everything in the editor afterwards.") : t("Pick a ready-made workflow and adjust it to your needs.")}</p>
        </div>
        {onClose && (
          <button type="button" className="icon-btn" onClick={onClose} aria-label={t("Close the templates")}>
            <Icon name="x" />
          </button>
        )}
      </header>
      {startError && (
        <p className="problems" role="alert">
          <Icon name="alert" size={16} /> <span>{t("Could not create the workflow: {error}", { error: startError })}</span>
        </p>
      )}
      {picked ? (
        <InputsForm template={picked} busy={busy} onBack={() => setPicked(null)} onSubmit={(inputs) => void start(picked, inputs)} onInvalid={setStartError} />
      ) : (
        <>
          <div className="gallery-filters">
            <label className="palette-search gallery-search">
              <Icon name="search" size={16} />
              <span className="sr-only">{t("Search templates")}</span>
              <input type="search" placeholder={t("Search templates")} value={query} onChange={(e) => setQuery(e.target.value)} />
            </label>
            {categories.length > 0 && (
              <div className="chips" role="group" aria-label={t("Categories")}>
                {[null, ...categories].map((c) => (
                  <button key={c ?? "all"} type="button" className={`chip ${category === c ? "active" : ""}`} aria-pressed={category === c} onClick={() => setCategory(c)}>
                    {c ?? t("All")}
                  </button>
                ))}
              </div>
            )}
          </div>
          {loadError && <p className="problems" role="alert">{t("Could not load the templates: {error}", { error: loadError })}</p>}
          {!all && !loadError && (
            <div className="loading gallery-loading" role="status">
              <div className="spinner" aria-hidden="true" /> {t("Loading templates…")}
            </div>
          )}
          {all && shown.length === 0 && <p className="muted empty">{all.length === 0 ? t("There are no templates yet.") : t("No template matches your search.")}</p>}
          <ul className="template-grid">
            {allowBlank && (
              <li>
                <button type="button" className="template-card blank" disabled={busy} onClick={() => void start(null)}>
                  <span className="template-icon" aria-hidden="true">
                    <Icon name="plus" size={20} />
                  </span>
                  <span className="template-name">{t("Blank workflow")}</span>
                  <span className="template-desc">{t("Start from an empty canvas.")}</span>
                </button>
              </li>
            )}
            {shown.map((t) => (
              <li key={t.key}>
                <button type="button" className="template-card" disabled={busy} onClick={() => pick(t)} data-template={t.key}>
                  <span className="template-top">
                    <TemplateIcon template={t} apps={apps} />
                    {t.category && <span className="badge">{t.category}</span>}
                  </span>
                  <span className="template-name">{t.name}</span>
                  {t.description && <span className="template-desc">{t.description}</span>}
                  {t.required_apps.length > 0 && <RequiredApps slugs={t.required_apps} apps={apps} />}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function TemplateIcon({ template, apps }: { template: TemplateInfo; apps: AppStore }) {
  const app = template.icon ? apps.summary(template.icon) : undefined;
  // Longer than a few characters, the icon names an app (its monogram until the list loads).
  if (template.icon && (app || template.icon.length > 4)) return <AppIcon slug={template.icon} name={app?.name ?? template.icon} icon={app?.icon} size={32} />;
  return (
    <span className="template-icon" aria-hidden="true">
      {template.icon || template.name.charAt(0).toUpperCase()}
    </span>
  );
}

function RequiredApps({ slugs, apps }: { slugs: string[]; apps: AppStore }) {
  return (
    <span className="template-apps">
      <span className="sr-only">{t("Needs:")} </span>
      {slugs.map((slug) => {
        const app = apps.summary(slug);
        const state = app ? connectionState(app) : "missing";
        return (
          <span key={slug} className="template-app" title={state === "connected" ? t("Connected") : t("You will be asked to connect it")}>
            <AppIcon slug={slug} name={app?.name ?? slug} icon={app?.icon} size={16} />
            {app?.name ?? slug}
            {state === "connected" && <Icon name="check" size={12} />}
          </span>
        );
      })}
    </span>
  );
}

function InputsForm({ template, busy, onBack, onSubmit, onInvalid }: { template: TemplateInfo; busy: boolean; onBack(): void; onSubmit(inputs: Record<string, unknown>): void; onInvalid(message: string): void }) {
  const fields = useMemo(() => inputFields(template.inputs), [template]);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((f) => [f.name, f.initial])));
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    try {
      onSubmit(inputValues(fields, values));
    } catch (error) {
      onInvalid(error instanceof InjectedDataError ? error.message : describeError(error));
    }
  };
  return (
    <form className="template-form" onSubmit={submit}>
      {template.description && <p>{template.description}</p>}
      {fields.map((field) => (
        <InputRow key={field.name} field={field} value={values[field.name] ?? ""} onChange={(v) => setValues((old) => ({ ...old, [field.name]: v }))} />
      ))}
      <div className="dialog-actions">
        <button type="button" className="btn ghost" onClick={onBack} disabled={busy}>
          {t("Back to the templates")}
        </button>
        <button type="submit" className="btn primary" disabled={busy}>
          {busy ? t("Creating…") : t("Create workflow")}
        </button>
      </div>
    </form>
  );
}

function InputRow({ field, value, onChange }: { field: InputField; value: string; onChange(value: string): void }) {
  const id = `template-input-${field.name}`;
  const label = (
    <label htmlFor={id}>
      {field.label}
      {field.required && <span aria-hidden="true"> *</span>}
    </label>
  );
  let control: React.ReactNode;
  if (field.kind === "boolean") {
    control = <input id={id} type="checkbox" checked={value === "true"} onChange={(e) => onChange(String(e.target.checked))} />;
  } else if (field.kind === "select") {
    control = (
      <select id={id} value={value} required={field.required} onChange={(e) => onChange(e.target.value)}>
        {!field.required && <option value="">—</option>}
        {(field.options ?? []).map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === "json") {
    control = <textarea id={id} value={value} required={field.required} rows={3} onChange={(e) => onChange(e.target.value)} placeholder={t("JSON")} />;
  } else {
    control = <input id={id} type={field.kind === "number" ? "number" : "text"} value={value} required={field.required} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <div className="field">
      {label}
      {control}
      {field.description && <p className="field-hint">{field.description}</p>}
    </div>
  );
}

/** On an empty canvas: "Start from a template", when the org offers any. */
export function TemplateEntry({ api, onOpen }: { api: Api; onOpen(): void }) {
  const [count, setCount] = useState(0);
  useEffect(() => {
    let live = true;
    api.templates().then(
      (answer) => live && setCount(answer.templates.length),
      () => undefined, // no gallery entry then; the canvas works as before
    );
    return () => {
      live = false;
    };
  }, [api]);
  if (count === 0) return null;
  return (
    <div className="template-entry">
      <button type="button" className="btn primary" onClick={onOpen}>
        <Icon name="workflow" size={16} /> {t("Start from a template")}
      </button>
      <p className="muted">
        {tn(count, "{count} ready-made workflow, or add steps from the list.", "{count} ready-made workflows, or add steps from the list.")}
      </p>
    </div>
  );
}
