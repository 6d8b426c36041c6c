// Errors as the editor shows them to end customers: one readable sentence, plus the code and
// raw answer (folded away) that the operator needs to look the failure up in the server's log.
import { ApiError } from "./api";
import { msg, t } from "../i18n";

export interface ShownError {
  /** What happened, as a sentence. */
  sentence: string;
  /** The server's error code (OUTBOUND_BLOCKED, HTTP_502, ...), when there is one. */
  code: string | null;
  /** The request id the server logged this answer under, when there is one. */
  reference: string | null;
  /** The raw answer, operator settings blanked. */
  raw: string;
  /** Only the operator can change what refused it: the customer is sent to their administrator. */
  askAdministrator: boolean;
}

// An operator's setting (WEFT_OUTBOUND_ALLOW, ...): older servers named them in messages.
const SETTING = /\bWEFT_[A-Z0-9_]+\b/g;
const OPERATOR_CODES = new Set(["OUTBOUND_BLOCKED", "SUBWORKFLOW_MAX_DEPTH", "RUNS_PER_TRIGGER"]);

const BY_STATUS: Record<number, string> = {
  0: msg("The server could not be reached. Check the connection and try again; nothing is lost."),
  401: msg("Your session has ended. Reopen the editor from your application."),
  403: msg("You are not allowed to do this."),
  404: msg("This was not found: it may have been deleted."),
  413: msg("This is too large for the server to accept."),
  429: msg("Too many requests at once. Wait a moment and try again."),
};
const SERVER_FAILED = msg("Something went wrong on the server. Try again; if it keeps happening, ask your administrator and give them the code below.");

/** `error` (an ApiError, a step's error object, an Error or a string) as the editor shows it. */
export function shownError(error: unknown): ShownError {
  if (error instanceof ApiError) {
    const reference = typeof error.body.request_id === "string" ? error.body.request_id : null;
    const raw = Object.keys(error.body).length ? JSON.stringify(error.body, null, 2) : error.message;
    let sentence: string;
    if (error.status >= 500) sentence = SERVER_FAILED;
    else if (error.status in BY_STATUS && (error.status !== 404 || !error.body.message)) sentence = BY_STATUS[error.status];
    else sentence = asSentence(error.message) ?? SERVER_FAILED;
    return finish(sentence, error.code, reference, raw);
  }
  if (typeof error === "string") return finish(asSentence(error) ?? SERVER_FAILED, null, null, error);
  if (error instanceof Error) return finish(asSentence(error.message) ?? SERVER_FAILED, null, null, error.stack ?? error.message);
  if (error && typeof error === "object") {
    const fields = error as Record<string, unknown>;
    const code = [fields.error_code, fields.code, fields.type].find((v) => typeof v === "string") as string | undefined;
    const message = typeof fields.message === "string" ? fields.message : null;
    return finish((message && asSentence(message)) ?? SERVER_FAILED, code ?? null, null, JSON.stringify(error, null, 2));
  }
  return finish(SERVER_FAILED, null, null, String(error));
}

/** Just the sentence (for places with one line to spare). */
export function errorSentence(error: unknown): string {
  return error ? shownError(error).sentence : "";
}

function finish(sentence: string, code: string | null, reference: string | null, raw: string): ShownError {
  const namesSetting = SETTING.test(sentence) || SETTING.test(raw);
  SETTING.lastIndex = 0;
  const codeInText = sentence.match(/\(code ([A-Z0-9_]+)\)/);
  const askAdministrator = namesSetting || OPERATOR_CODES.has(code ?? "") || Boolean(codeInText && OPERATOR_CODES.has(codeInText[1]));
  let text = t(sentence).replace(SETTING, t("a server setting"));
  if (namesSetting) {
    // What the old message told the customer to change is the operator's: send them there instead.
    text = text.replace(/\s*To allow it,[^.]*\.?/i, "") + " " + t("Ask your administrator to allow it, with the code below.");
  }
  return { sentence: text, code: code ?? codeInText?.[1] ?? null, reference, raw: raw.replace(SETTING, "[server setting]"), askAdministrator };
}

/** A message as a sentence: capitalised and ended; null when it is not prose (raw JSON, empty). */
function asSentence(message: string): string | null {
  const text = message.trim();
  if (!text || /^[[{<]/.test(text)) return null;
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/** The text a copy button puts on the clipboard: everything the operator needs. */
export function errorReport(shown: ShownError): string {
  return [shown.sentence, shown.code && `Code: ${shown.code}`, shown.reference && `Reference: ${shown.reference}`, "", shown.raw].filter((l) => l !== null && l !== undefined).join("\n");
}
