// The toolbar's "More" menu: what does not fit a narrow frame stays one click (or Enter) away.
// A menu button (ARIA pattern): arrows move, Escape closes and gives focus back to the button.
import { useEffect, useRef, useState } from "react";
import { Icon } from "./Icons";
import { t } from "../i18n";

export interface MenuItem {
  label: string;
  onSelect(): void;
  disabled?: boolean;
  /** Shown in the toolbar itself when the frame is wide enough: listed here only when narrow. */
  narrowOnly?: boolean;
}

export function OverflowMenu({ items }: { items: MenuItem[] }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const entries = () => [...(menu.current?.querySelectorAll<HTMLButtonElement>("button:not(:disabled)") ?? [])].filter((b) => b.offsetParent !== null);

  useEffect(() => {
    if (!open) return;
    requestAnimationFrame(() => entries()[0]?.focus());
    const away = (event: MouseEvent) => {
      if (!menu.current?.contains(event.target as Node) && !button.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  return (
    <div className="overflow">
      <button
        ref={button}
        type="button"
        className="icon-btn"
        aria-label={t("More actions")}
        title={t("More actions")}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls="overflow-menu"
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        <Icon name="more" />
      </button>
      {open && (
        <ul
          ref={menu}
          id="overflow-menu"
          className="overflow-menu"
          role="menu"
          aria-label={t("More actions")}
          onKeyDown={(e) => {
            const list = entries();
            const at = list.indexOf(document.activeElement as HTMLButtonElement);
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              close(true);
            } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              const step = e.key === "ArrowDown" ? 1 : -1;
              list[(at + step + list.length) % list.length]?.focus();
            } else if (e.key === "Tab") {
              close(false);
            }
          }}
        >
          {items.map((item) => (
            <li key={item.label} role="none" className={item.narrowOnly ? "narrow-only" : undefined}>
              <button
                type="button"
                role="menuitem"
                disabled={item.disabled}
                onClick={() => {
                  close(true);
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
