// The searchable palette: every node type and one entry per app. Typing filters node types,
// apps and apps' actions at once ("hubspot create contact"); arrows move, Enter picks. Picking
// an app opens its action picker (with descriptions); Escape or Backspace on an empty search
// goes back.
import { forwardRef, useMemo, useState } from "react";
import type { AppActionInfo, AppInfo, NodeType } from "../lib/types";
import { matchesAll } from "../state/apps";
import { AppIcon } from "./AppIcon";
import { Icon } from "./Icons";
import { msg, t, tn, useLocale } from "../i18n";
import { nodeTypeDescription, nodeTypeLabel } from "../i18n/nodeTypes";

const CATEGORY_ORDER = ["trigger", "action", "logic", "flow", "ai"];
const CATEGORY_LABEL: Record<string, string> = { trigger: msg("Triggers"), action: msg("Actions"), logic: msg("Logic"), flow: msg("Flow"), ai: msg("AI") };
const MAX_ACTION_MATCHES = 40;

interface Props {
  nodeTypes: NodeType[];
  apps: AppInfo[] | null;
  targetLabel: string;
  onPick(nodeType: NodeType): void;
  onPickAction(app: AppInfo, action: AppActionInfo): void;
  disabled: boolean;
}

type Entry =
  | { kind: "node"; id: string; heading: string; nodeType: NodeType }
  | { kind: "app"; id: string; heading: string; app: AppInfo }
  | { kind: "action"; id: string; heading: string; app: AppInfo; action: AppActionInfo };

function domId(text: string): string {
  return "palette-" + text.replace(/[^A-Za-z0-9_-]/g, "_");
}

export const Palette = forwardRef<HTMLInputElement, Props>(function Palette({ nodeTypes, apps, targetLabel, onPick, onPickAction, disabled }, ref) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const [openApp, setOpenApp] = useState<AppInfo | null>(null);
  const locale = useLocale();

  const entries: Entry[] = useMemo(() => {
    const q = query.trim();
    if (openApp) {
      return openApp.actions
        .filter((a) => !a.deprecated || q)
        .filter((a) => !q || matchesAll(q, `${a.label} ${a.name} ${a.description ?? ""}`))
        .map((action) => ({ kind: "action", id: domId(`${openApp.slug}-${action.name}`), heading: t("{name} actions", { name: openApp.name }), app: openApp, action }));
    }
    const nodes: Entry[] = nodeTypes
      .filter((t) => t.type !== "start" && t.type !== "app_action")
      .filter((t) => !q || matchesAll(q, `${t.label} ${nodeTypeLabel(t)} ${t.type} ${t.description} ${t.category}`))
      .sort((a, b) => CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category))
      .map((nodeType) => ({ kind: "node", id: domId(nodeType.type), heading: CATEGORY_LABEL[nodeType.category] ? t(CATEGORY_LABEL[nodeType.category]) : nodeType.category, nodeType }));
    const appList = apps ?? [];
    const appEntries: Entry[] = appList
      .filter((app) => !q || matchesAll(q, `${app.name} ${app.slug} ${app.description ?? ""}`))
      .map((app) => ({ kind: "app", id: domId(`app-${app.slug}`), heading: t("Apps"), app }));
    const actionEntries: Entry[] = [];
    if (q) {
      for (const app of appList) {
        for (const action of app.actions) {
          if (action.deprecated) continue;
          if (matchesAll(q, `${app.name} ${app.slug} ${action.label} ${action.name} ${action.description ?? ""}`)) {
            actionEntries.push({ kind: "action", id: domId(`${app.slug}-${action.name}`), heading: t("App actions"), app, action });
          }
        }
      }
    }
    // A search naming an app and an action ("hubspot create contact") wants the action before
    // the app; built-in steps that match come first either way.
    const actionsFirst = q.split(/\s+/).length > 1;
    const shownActions = actionEntries.slice(0, MAX_ACTION_MATCHES);
    return actionsFirst ? [...nodes, ...shownActions, ...appEntries] : [...nodes, ...appEntries, ...shownActions];
  }, [nodeTypes, apps, query, openApp, locale]);
  const current = Math.min(active, Math.max(entries.length - 1, 0));

  const reset = () => {
    setQuery("");
    setActive(0);
    setOpenApp(null);
  };

  const pick = (entry: Entry | undefined) => {
    if (!entry || disabled) return;
    if (entry.kind === "node") {
      onPick(entry.nodeType);
      reset();
    } else if (entry.kind === "app") {
      setOpenApp(entry.app);
      setQuery("");
      setActive(0);
    } else {
      onPickAction(entry.app, entry.action);
      reset();
    }
  };

  let lastHeading = "";
  return (
    <nav className="palette" id="palette" aria-label={t("Steps you can add")}>
      {openApp && (
        <div className="palette-app-head">
          <button type="button" className="icon-btn" aria-label={t("Back to all steps")} onClick={reset}>
            <Icon name="undo" size={14} />
          </button>
          <AppIcon slug={openApp.slug} name={openApp.name} icon={openApp.icon} size={22} />
          <strong>{openApp.name}</strong>
        </div>
      )}
      <div className="palette-search">
        <Icon name="search" size={14} />
        <input
          ref={ref}
          type="search"
          placeholder={openApp ? t("Search {name} actions…", { name: openApp.name }) : t("Search steps and apps…")}
          aria-label={openApp ? t("Search {name} actions", { name: openApp.name }) : t("Search steps to add")}
          role="combobox"
          aria-expanded="true"
          aria-controls="palette-list"
          aria-activedescendant={entries[current] ? entries[current].id : undefined}
          value={query}
          disabled={disabled}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setActive(Math.min(current + 1, entries.length - 1));
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              setActive(Math.max(current - 1, 0));
            } else if (e.key === "Enter") {
              e.preventDefault();
              pick(entries[current]);
            } else if (e.key === "Escape") {
              if (openApp && !query) reset();
              else setQuery("");
            } else if (e.key === "Backspace" && openApp && !query) {
              reset();
            }
          }}
        />
      </div>
      <p className="palette-target" aria-live="polite">
        {targetLabel}
      </p>
      <ul id="palette-list" role="listbox" aria-label={openApp ? t("{name} actions", { name: openApp.name }) : t("Step types and apps")}>
        {entries.map((entry, index) => {
          const heading = entry.heading !== lastHeading ? entry.heading : null;
          lastHeading = entry.heading;
          const selected = index === current;
          let icon: React.ReactNode;
          let label: string;
          let desc: string;
          let cls = "palette-item";
          let writes = false;
          if (entry.kind === "node") {
            icon = (
              <span className="palette-icon">
                <Icon name={entry.nodeType.type} />
              </span>
            );
            label = nodeTypeLabel(entry.nodeType);
            desc = nodeTypeDescription(entry.nodeType);
            cls += ` cat-${entry.nodeType.category}`;
            writes = entry.nodeType.effect === "write";
          } else if (entry.kind === "app") {
            icon = <AppIcon slug={entry.app.slug} name={entry.app.name} icon={entry.app.icon} />;
            label = entry.app.name;
            const actions = tn(entry.app.actions.length, "{count} action", "{count} actions");
            desc = entry.app.connected ? `${t("Connected")} · ${actions}` : actions;
          } else {
            icon = <AppIcon slug={entry.app.slug} name={entry.app.name} icon={entry.app.icon} />;
            label = entry.action.label;
            desc = openApp ? (entry.action.description ?? entry.action.name) : `${entry.app.name} · ${entry.action.description ?? entry.action.name}`;
            writes = entry.action.effect !== "read";
            cls += " palette-action";
          }
          return (
            <li key={entry.id} role="presentation">
              {heading && (
                <div className="palette-heading" role="presentation">
                  {heading}
                </div>
              )}
              <div id={entry.id} role="option" aria-selected={selected} className={`${cls}${selected ? " active" : ""}`} onMouseEnter={() => setActive(index)} onClick={() => pick(entry)} title={desc}>
                {icon}
                <span className="palette-text">
                  <span className="palette-label">{label}</span>
                  <span className="palette-desc">{desc}</span>
                </span>
                {entry.kind === "app" && <span className="palette-chevron" aria-hidden="true">›</span>}
                {writes && <span className="palette-effect" title={t("Sends data out: safe test mode holds it back")}>{t("writes")}</span>}
              </div>
            </li>
          );
        })}
        {entries.length === 0 && <li className="muted palette-empty">{t("No step or app matches “{query}”.", { query })}</li>}
        {!openApp && apps === null && <li className="muted palette-empty">{t("Loading apps…")}</li>}
      </ul>
    </nav>
  );
});
