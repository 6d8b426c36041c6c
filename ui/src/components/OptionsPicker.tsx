// A parameter whose choices the connected app lists (`x-weft-options`): a searchable combobox
// (type to filter; arrows, Enter and Escape), with loading, the error and its way forward
// (connect the app, fill another field first, retry), and a refresh button.
import { errorSentence } from "../lib/errors";
import { useEffect, useRef, useState } from "react";
import type { ParamOption, ParamOptions } from "../lib/types";
import { filterOptions } from "../model/options";
import { describeError } from "../state/useEditor";
import { Icon } from "./Icons";
import { t } from "../i18n";

interface Props {
  id: string;
  label: string;
  value: unknown;
  onChange(value: unknown): void;
  /** Asks the server; `refresh` skips its briefly kept copy. */
  load(refresh: boolean): Promise<ParamOptions>;
  /** Changes when the list must be loaded again (connection, a value it depends on). */
  reloadKey: string;
  invalid: boolean;
  /** Opens the app's connection form (shown when the app is not connected). */
  onConnect?: () => void;
}

type State = { loading: boolean; answer: ParamOptions | null };

export function OptionsPicker({ id, label, value, onChange, load, reloadKey, invalid, onConnect }: Props) {
  const [state, setState] = useState<State>({ loading: true, answer: null });
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const asked = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const fetchOptions = async (refresh: boolean) => {
    const ticket = ++asked.current;
    setState((s) => ({ ...s, loading: true }));
    let answer: ParamOptions;
    try {
      answer = await loadRef.current(refresh);
    } catch (error) {
      answer = { options: [], more: false, error: { error_code: "REQUEST_FAILED", message: describeError(error) } };
    }
    if (ticket === asked.current) setState({ loading: false, answer });
  };
  useEffect(() => {
    void fetchOptions(false);
  }, [reloadKey]);

  const options = state.answer?.options ?? [];
  const chosen = options.find((o) => String(o.value) === String(value ?? ""));
  const shown = filterOptions(options, query);
  const custom = query.trim() && !options.some((o) => o.label === query.trim() || String(o.value) === query.trim());
  const entries: (ParamOption & { custom?: boolean })[] = [...shown, ...(custom ? [{ label: t("Use “{value}”", { value: query.trim() }), value: query.trim(), custom: true }] : [])];
  const listId = `${id}-options`;

  const pick = (option: ParamOption) => {
    onChange(option.value);
    setQuery("");
    setOpen(false);
  };
  const onKeyDown = (event: React.KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) setOpen(true);
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive((i) => (entries.length ? (i + step + entries.length) % entries.length : 0));
    } else if (event.key === "Enter") {
      if (open && entries[active]) {
        event.preventDefault();
        pick(entries[active]);
      }
    } else if (event.key === "Escape") {
      if (open) {
        event.preventDefault();
        event.stopPropagation();
        setOpen(false);
        setQuery("");
      }
    }
  };

  const error = state.answer?.error;
  const display = open ? query : chosen ? chosen.label : value === undefined || value === null ? "" : String(value);
  return (
    <div className="options-picker">
      <div className="options-row">
        <input
          id={id}
          type="text"
          role="combobox"
          autoComplete="off"
          aria-invalid={invalid}
          aria-expanded={open}
          aria-controls={open && entries.length > 0 ? listId : undefined}
          aria-autocomplete="list"
          aria-activedescendant={open && entries[active] ? `${listId}-${active}` : undefined}
          placeholder={state.loading && !options.length ? t("Loading choices…") : options.length ? t("Search or pick…") : t("Type a value")}
          value={display}
          onFocus={() => setOpen(true)}
          onClick={() => setOpen(true)}
          onBlur={() => {
            setOpen(false);
            setQuery("");
          }}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
            setOpen(true);
          }}
          onKeyDown={onKeyDown}
        />
        <button type="button" className="icon-btn" aria-label={t("Refresh {label} choices", { label })} title={t("Load the choices again from the app")} disabled={state.loading} onClick={() => void fetchOptions(true)}>
          <Icon name="refresh" size={14} />
        </button>
      </div>
      {open && entries.length > 0 && (
        <ul className="options-list" role="listbox" id={listId} aria-label={t("{label} choices", { label })}>
          {entries.map((option, index) => (
            <li
              key={`${String(option.value)}-${index}`}
              id={`${listId}-${index}`}
              role="option"
              aria-selected={index === active}
              className={`${index === active ? "active" : ""}${String(option.value) === String(value ?? "") ? " chosen" : ""}`}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(option);
              }}
              onMouseEnter={() => setActive(index)}
            >
              <span>{option.label}</span>
              {!option.custom && option.label !== String(option.value) && <span className="option-value">{String(option.value)}</span>}
            </li>
          ))}
        </ul>
      )}
      {state.loading && (
        <p className="field-hint" role="status">
          {t("Loading choices…")}
        </p>
      )}
      {!state.loading && error && (
        <div className="options-error" role="alert">
          <span>{error.error_code === "CONNECTION_REQUIRED" ? t("Connect the app to choose from its list.") : errorSentence(error)}</span>
          {error.error_code === "CONNECTION_REQUIRED" && onConnect ? (
            <button type="button" className="btn small primary" onClick={onConnect}>
              {t("Connect")}
            </button>
          ) : error.error_code !== "OPTIONS_NEED_VALUE" ? (
            <button type="button" className="btn small" onClick={() => void fetchOptions(true)}>
              {t("Retry")}
            </button>
          ) : null}
        </div>
      )}
      {!state.loading && !error && state.answer && options.length === 0 && <p className="field-hint">{t("The app listed no choices; type a value.")}</p>}
      {state.answer?.more && <p className="field-hint">{t("Only the first {count} choices are listed: type to search them, or type a value.", { count: options.length })}</p>}
    </div>
  );
}
