// A new workflow from a template, three ways: the host opens `/workflows/new?template=…&inputs=…`
// or posts `startFromTemplate`; or the person picks one in the gallery (`/workflows/new` alone,
// or "Start from a template" in the editor). Injected data is checked before it is sent, and
// every refusal (odd data, an unknown template, inputs the template's schema refuses) is shown
// as a message with a way on, never a blank page.
import { useEffect, useState } from "react";
import type { Api } from "./lib/api";
import type { Draft, TemplateInfo } from "./lib/types";
import { InjectedDataError, TEMPLATE_KEY, checkInputs, decodeInputs } from "./lib/templates";
import { describeError } from "./state/useEditor";
import { TemplateGallery } from "./components/TemplateGallery";
import { Icon } from "./components/Icons";
import { t } from "./i18n";

/** A start the host asked for: inputs as sent in the URL (`encoded`) or by postMessage. */
export interface StartRequest {
  template: string;
  encoded?: string | null;
  inputs?: unknown;
}

interface Props {
  api: Api;
  request?: StartRequest | null;
  /** Over an open editor (a gallery or a host's start while editing). */
  layered?: boolean;
  onCreated(draft: Draft, template: TemplateInfo | string | null): void;
  onFailed(message: string): void;
  /** Back to the open workflow; none on `/workflows/new`. */
  onClose?(): void;
}

type State = { kind: "gallery" } | { kind: "starting" } | { kind: "failed"; message: string };

function inputsOf(request: StartRequest): Record<string, unknown> {
  if (!TEMPLATE_KEY.test(request.template)) throw new InjectedDataError(t("The template key is not valid: lowercase letters, digits, _ and -."));
  return request.encoded !== undefined ? decodeInputs(request.encoded) : checkInputs(request.inputs);
}

export function TemplateStart({ api, request, layered, onCreated, onFailed, onClose }: Props) {
  const [state, setState] = useState<State>(request ? { kind: "starting" } : { kind: "gallery" });

  useEffect(() => {
    if (!request) return setState({ kind: "gallery" });
    let live = true;
    setState({ kind: "starting" });
    const fail = (message: string) => {
      if (!live) return;
      setState({ kind: "failed", message });
      onFailed(message);
    };
    let inputs: Record<string, unknown>;
    try {
      inputs = inputsOf(request);
    } catch (error) {
      fail(describeError(error));
      return;
    }
    api.startFromTemplate(request.template, inputs).then(
      (answer) => live && onCreated(answer.workflow, request.template),
      (error) => fail(describeError(error)),
    );
    return () => {
      live = false;
    };
    // A new request (another postMessage) starts again; the callbacks do not.
  }, [api, request]);

  const frame = layered ? "gallery-layer" : "start-page";
  if (state.kind === "starting") {
    return (
      <div className={frame}>
        <div className="loading" role="status" aria-live="polite">
          <div className="spinner" aria-hidden="true" /> {t("Creating your workflow from the template…")}
        </div>
      </div>
    );
  }
  if (state.kind === "failed") {
    return (
      <div className={`${frame} error-screen`} role="alert">
        <div className="error-card">
          <div className="error-icon">
            <Icon name="alert" size={28} />
          </div>
          <h1>{t("This template could not be started")}</h1>
          <p data-testid="template-error">{state.message}</p>
          <div className="button-row" style={{ justifyContent: "center" }}>
            <button type="button" className="btn primary" onClick={() => setState({ kind: "gallery" })}>
              {t("Browse the templates")}
            </button>
            {onClose && (
              <button type="button" className="btn" onClick={onClose}>
                {t("Back to the workflow")}
              </button>
            )}
          </div>
        </div>
      </div>
    );
  }
  return (
    <div className={frame}>
      <TemplateGallery api={api} onCreated={onCreated} onClose={onClose} allowBlank={!onClose} />
    </div>
  );
}
