// Boot: the page config the server injected, the session token taken from the address bar into
// memory (then removed from it), the host channel, then the editor.
import { StrictMode, useCallback, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/base.css";
import "./styles.css";
import { Api } from "./lib/api";
import { HostChannel, applyScheme, applyTheme, resolveHostOrigin } from "./lib/embed";
import { setLocale, t, useLocale } from "./i18n";
import type { BootConfig, Draft, TemplateInfo } from "./lib/types";
import { App, ErrorScreen } from "./App";
import { TemplateStart, type StartRequest } from "./TemplateStart";

declare global {
  interface Window {
    __WEFT__?: BootConfig;
  }
}

/** Take the token out of the URL: it must not stay in history, logs or the Referer. */
function takeToken(): string | null {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token) {
    url.searchParams.delete("token");
    window.history.replaceState(window.history.state, "", url.pathname + (url.search ? url.search : "") + url.hash);
  }
  return token;
}

const TOKEN_WARNING_MS = 2 * 60 * 1000;

function Root({ config, token }: { config: BootConfig; token: string }) {
  useLocale();
  const api = useMemo(() => new Api(config.apiBase, config.workflowId ?? "", token), [config, token]);
  const host = useMemo(() => new HostChannel(resolveHostOrigin(config.allowedOrigins ?? [])), [config]);
  const [expiresAt, setExpiresAt] = useState(config.tokenExpiresAt ?? null);
  const [lost, setLost] = useState(false);
  // Which workflow is open (null: `/workflows/new`), and a template start under way.
  const [workflowId, setWorkflowId] = useState(config.workflowId);
  const [start, setStart] = useState<StartRequest | null>(() => (config.template ? { template: config.template, encoded: config.templateInputs ?? null } : null));

  const opened = useCallback(
    (draft: Draft, template: TemplateInfo | string | null) => {
      const id = draft.associated_workflow;
      api.openWorkflow(id);
      // The address names the new workflow: a reload opens it, not the template again.
      window.history.replaceState(window.history.state, "", `/workflows/${encodeURIComponent(id)}`);
      setStart(null);
      setWorkflowId(id);
      host.send("workflowCreated", { workflowId: id, template: typeof template === "string" ? template : (template?.key ?? null) });
    },
    [api, host],
  );

  useEffect(
    () =>
      host.listen({
        setToken(next, nextExpiry) {
          setExpiresAt(nextExpiry ?? null);
          setLost(false);
          // Retries what waits for a token: a refused save, the error page.
          api.setToken(next);
        },
        setTheme: applyTheme,
        setLocale(locale) {
          void setLocale(locale);
        },
        startFromTemplate(template, inputs) {
          setStart({ template, inputs });
        },
      }),
    [api, host],
  );

  useEffect(
    () =>
      api.onAuthLost(() => {
        if (api.claimExpiryNotice()) host.send("tokenExpiring", { expired: true });
        setLost(true);
      }),
    [api, host],
  );

  useEffect(() => {
    if (!expiresAt) return;
    const warnIn = new Date(expiresAt).getTime() - Date.now() - TOKEN_WARNING_MS;
    const warn = () => {
      if (api.claimExpiryNotice()) host.send("tokenExpiring", { expiresAt });
    };
    const handle = window.setTimeout(warn, Math.max(0, Math.min(warnIn, 2 ** 31 - 1)));
    return () => window.clearTimeout(handle);
  }, [expiresAt, api, host]);

  // The editor stays mounted under the notice: its pending edits are saved once setToken comes.
  const failed = useCallback((message: string) => host.send("templateFailed", { message }), [host]);
  return (
    <>
      {workflowId && <App key={workflowId} api={api} host={host} onOpenWorkflow={opened} />}
      {(!workflowId || start) && <TemplateStart api={api} request={start} layered={Boolean(workflowId)} onCreated={opened} onFailed={failed} onClose={workflowId ? () => setStart(null) : undefined} />}
      {lost && (
        <div className="overlay">
          <ErrorScreen
            title={t("Your session has ended")}
            detail={t("The editor's access token expired or was revoked. Your unsaved changes are kept and are saved as soon as the session resumes.")}
          />
        </div>
      )}
    </>
  );
}

function Boot({ config, token }: { config: BootConfig | undefined; token: string | null }) {
  useLocale();
  return config && token ? (
    <Root config={config} token={token} />
  ) : (
    <ErrorScreen title={t("This editor link is incomplete")} detail={t("Open the editor with a session token: /workflows/{id}?token=…")} />
  );
}

const config = window.__WEFT__;
const token = takeToken();
// The host's language and colour scheme from the address (`locale=de`, `theme=dark`); the
// catalogue is fetched before the first paint so the editor never flashes English.
const params = new URLSearchParams(window.location.search);
applyScheme(params.get("theme"));
const root = createRoot(document.getElementById("root")!);
void setLocale(params.get("locale"))
  .catch(() => undefined)
  .finally(() =>
    root.render(
      <StrictMode>
        <Boot config={config} token={token} />
      </StrictMode>,
    ),
  );
