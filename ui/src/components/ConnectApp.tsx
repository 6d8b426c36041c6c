// An app's connection state with "Connect" in place, shared by app steps, app triggers and the
// connection picker of http/mcp steps: the key form, or the OAuth popup. The popup is watched
// three ways: the callback page posts its outcome to this window (connected, or why not), the
// app is polled (the callback may live on another origin), and a closed window ends the wait.
import { useEffect, useRef, useState } from "react";
import type { Api } from "../lib/api";
import type { AppInfo, Problem } from "../lib/types";
import { appStore, connectionState, oauthOutcome } from "../state/apps";
import { describeError } from "../state/useEditor";
import { humanise } from "./SchemaForm";
import { Icon } from "./Icons";
import { t } from "../i18n";

const POLL_MS = 1500;
const POLL_LIMIT_MS = 5 * 60 * 1000;

interface Props {
  app: AppInfo;
  api: Api;
  problems: Problem[];
  onConnected(): void;
  readOnly: boolean;
  /** The Connect button, for a caller that offers "Connect" elsewhere (an options picker). */
  buttonRef?: React.MutableRefObject<HTMLButtonElement | null>;
}

export function Connection({ app, api, problems, onConnected, readOnly, buttonRef }: Props) {
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null);
  const [blockedUrl, setBlockedUrl] = useState<string | null>(null);
  const poll = useRef<number | null>(null);
  const popup = useRef<Window | null>(null);
  const connectButton = useRef<HTMLButtonElement>(null);

  const stopWatching = () => {
    if (poll.current) window.clearInterval(poll.current);
    poll.current = null;
  };
  useEffect(() => stopWatching, []);

  const done = async () => {
    stopWatching();
    if (popup.current && !popup.current.closed) popup.current.close();
    popup.current = null;
    await appStore(api).loadDetail(app.slug, true);
    setBusy(false);
    setOpen(false);
    setValues({});
    setBlockedUrl(null);
    setMessage(null);
    onConnected();
  };

  const giveUp = (text: string) => {
    setBusy(false);
    setBlockedUrl(null);
    setMessage({ text, error: true });
    // Offer Connect again, with the keyboard where it was.
    window.setTimeout(() => connectButton.current?.focus(), 0);
  };

  // The callback page's word on how the popup ended (only from the window this step opened).
  const onOutcome = useRef<(data: unknown) => void>(() => undefined);
  onOutcome.current = (data) => {
    const outcome = oauthOutcome(data, app.slug);
    if (!outcome) return;
    if (outcome.ok) return void done();
    stopWatching();
    popup.current?.close();
    popup.current = null;
    giveUp(`${app.name} was not connected: ${outcome.reason}. Connect again when you are ready.`);
  };
  useEffect(() => {
    const listen = (event: MessageEvent) => {
      if (popup.current && event.source === popup.current) onOutcome.current(event.data);
    };
    window.addEventListener("message", listen);
    return () => window.removeEventListener("message", listen);
  }, []);

  if (app.auth_type === "none") return null;
  const account = app.connected_accounts[0];
  const state = connectionState(app);
  const own = problems.filter((p) => p.field === "connection");

  const connectWithKey = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      await api.connectApp(app.slug, values);
      await done();
    } catch (error) {
      setBusy(false);
      setMessage({ text: describeError(error), error: true });
    }
  };

  const watch = () => {
    const started = Date.now();
    let closedSaid = false;
    stopWatching();
    poll.current = window.setInterval(async () => {
      try {
        if ((await api.application(app.slug)).connected) return void (await done());
      } catch {
        // keep polling: a blip should not end the flow
      }
      if (Date.now() - started > POLL_LIMIT_MS) {
        stopWatching();
        giveUp(t("Still not connected to {name}. Connect again when you are ready.", { name: app.name }));
      } else if (!closedSaid && popup.current?.closed) {
        // Polling goes on quietly: a provider that cuts the window's link to us looks closed.
        closedSaid = true;
        giveUp(t("The sign-in window was closed before {name} was connected. Connect again when you are ready.", { name: app.name }));
      }
    }, POLL_MS);
  };

  const connectWithOAuth = async () => {
    // Open the window in the click itself (popup blockers), then point it at the provider.
    const opened = window.open("", `weft-connect-${app.slug}`, "popup,width=520,height=680");
    popup.current = opened;
    setBusy(true);
    setBlockedUrl(null);
    setMessage(null);
    try {
      const answer = await api.connectApp(app.slug);
      if (!("auth_url" in answer)) throw new Error(t("The server gave no authorization URL"));
      if (opened && !opened.closed) {
        opened.location.href = answer.auth_url;
        setMessage({ text: t("Finish connecting {name} in the window that opened…", { name: app.name }) });
      } else {
        setBlockedUrl(answer.auth_url);
        setMessage({ text: t("Your browser blocked the sign-in window: open it with the link below.") });
      }
      watch();
    } catch (error) {
      opened?.close();
      popup.current = null;
      giveUp(describeError(error));
    }
  };

  const keyForm = app.auth_type !== "oauth2";
  return (
    <div className={`connection-box state-${state}`} role="group" aria-label={t("{name} connection", { name: app.name })}>
      <div className="connection-row">
        <span className={`badge ${state === "connected" ? "success" : state === "expired" ? "warning" : "danger"}`} data-testid="connection-status">
          <Icon name={state === "connected" ? "check" : "alert"} size={12} />
          {state === "connected" ? t("Connected") : state === "expired" ? t("Connection expired") : t("Not connected")}
        </span>
        {!readOnly && !open && (
          <button
            ref={(element) => {
              connectButton.current = element;
              if (buttonRef) buttonRef.current = element;
            }}
            type="button" className={`btn small${state === "connected" ? " ghost" : " primary"}`} disabled={busy} onClick={() => (keyForm ? setOpen(true) : void connectWithOAuth())}>
            {busy ? t("Connecting…") : state === "missing" ? t("Connect {name}", { name: app.name }) : t("Reconnect")}
          </button>
        )}
      </div>
      {state === "connected" && account?.identifier && <p className="field-hint connection-identity">{account.identifier}</p>}
      {state !== "connected" && own.length > 0 && <p className="field-hint">{t("This step cannot run until {name} is connected.", { name: app.name })}</p>}
      {open && keyForm && (
        <form className="connect-form" onSubmit={connectWithKey} aria-label={t("Connect {name}", { name: app.name })}>
          {app.auth_input_map.map((f, index) => (
            <div className="field" key={f.name}>
              <label htmlFor={`connect-${app.slug}-${f.name}`}>{f.label ?? humanise(f.name)}</label>
              <input
                id={`connect-${app.slug}-${f.name}`}
                autoFocus={index === 0}
                type={f.type === "password" || f.type === undefined ? "password" : f.type === "url" ? "url" : "text"}
                autoComplete="off"
                placeholder={f.placeholder ?? ""}
                required={f.required !== false}
                value={values[f.name] ?? ""}
                onChange={(e) => setValues((v) => ({ ...v, [f.name]: e.target.value }))}
              />
            </div>
          ))}
          <div className="button-row">
            <button type="submit" className="btn primary small" disabled={busy}>
              {busy ? t("Connecting…") : t("Save connection")}
            </button>
            <button type="button" className="btn ghost small" onClick={() => setOpen(false)}>
              {t("Cancel")}
            </button>
          </div>
        </form>
      )}
      {message && (
        <p className={message.error ? "field-problem" : "field-hint"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      )}
      {blockedUrl && (
        <p className="field-hint">
          <a
            href={blockedUrl}
            target="_blank"
            rel="opener"
            onClick={(event) => {
              // Opened from a click, the window is allowed, and watched like the first one.
              event.preventDefault();
              popup.current = window.open(blockedUrl, `weft-connect-${app.slug}`, "popup,width=520,height=680");
            }}
          >
            {t("Open the {name} sign-in page", { name: app.name })}
          </a>
        </p>
      )}
    </div>
  );
}
