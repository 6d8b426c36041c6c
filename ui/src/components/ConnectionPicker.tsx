// The connection of an http or mcp step: which app's connection signs its requests (the step's
// `connection`, an app slug, as the node's config stores it), picked from the apps that take
// credentials with their state (connected, expired, not connected), or none. The chosen app's
// state and "Connect" in place come from ConnectApp.
import type { Api } from "../lib/api";
import type { Problem } from "../lib/types";
import { connectableApps, useAppDetail, useApps } from "../state/apps";
import { Connection } from "./ConnectApp";
import { msg, t } from "../i18n";

interface Props {
  api: Api;
  data: Record<string, unknown>;
  onChange(data: Record<string, unknown>): void;
  problems: Problem[];
  onConnected(): void;
  readOnly: boolean;
}

const GROUPS = [
  ["connected", msg("Connected")],
  ["expired", msg("Connection expired")],
  ["missing", msg("Not connected")],
] as const;

export function ConnectionPicker({ api, data, onChange, problems, onConnected, readOnly }: Props) {
  const store = useApps(api);
  const chosen = typeof data.connection === "string" && data.connection ? data.connection : "";
  const { app } = useAppDetail(api, chosen || null);
  const list = store.apps();
  const groups = connectableApps(list ?? []);
  const known = !chosen || (list ?? []).some((a) => a.slug === chosen);
  const own = problems.filter((p) => p.field === "connection");
  return (
    <div className="field connection-picker">
      <label htmlFor="step-connection">{t("App connection")}</label>
      <select
        id="step-connection"
        value={chosen}
        disabled={readOnly}
        aria-invalid={own.length > 0}
        aria-describedby="step-connection-hint"
        onChange={(e) => {
          const next = { ...data };
          if (e.target.value) next.connection = e.target.value;
          else delete next.connection;
          onChange(next);
        }}
      >
        <option value="">{t("None: send the request as it is")}</option>
        {!known && <option value={chosen}>{chosen} {t("(not in the catalogue)")}</option>}
        {GROUPS.map(([state, title]) =>
          groups[state].length ? (
            <optgroup key={state} label={t(title)}>
              {groups[state].map((a) => (
                <option key={a.slug} value={a.slug}>
                  {a.name} · {t(title).toLowerCase()}
                </option>
              ))}
            </optgroup>
          ) : null,
        )}
      </select>
      <p className="field-hint" id="step-connection-hint">
        {list === null && !store.error ? t("Loading apps…") : t("The app’s connection adds its credentials to each request this step sends.")}
      </p>
      {store.error && (
        <p className="field-problem" role="alert">
          {t("Could not list the apps: {error}", { error: store.error })}
        </p>
      )}
      {app && app.slug === chosen && <Connection app={app} api={api} problems={problems} onConnected={onConnected} readOnly={readOnly} />}
    </div>
  );
}
