// The searchable palette of every node type: type to filter, arrows to move, Enter to insert.
import { forwardRef, useMemo, useState } from "react";
import type { NodeType } from "../lib/types";
import { Icon } from "./Icons";

const CATEGORY_ORDER = ["trigger", "action", "logic", "flow", "ai"];
const CATEGORY_LABEL: Record<string, string> = { trigger: "Triggers", action: "Actions", logic: "Logic", flow: "Flow", ai: "AI" };

interface Props {
  nodeTypes: NodeType[];
  targetLabel: string;
  onPick(nodeType: NodeType): void;
  disabled: boolean;
}

export const Palette = forwardRef<HTMLInputElement, Props>(function Palette({ nodeTypes, targetLabel, onPick, disabled }, ref) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const matches = useMemo(() => {
    const q = query.trim().toLowerCase();
    return nodeTypes
      .filter((t) => t.type !== "start")
      .filter((t) => !q || `${t.label} ${t.type} ${t.description} ${t.category}`.toLowerCase().includes(q))
      .sort((a, b) => CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category));
  }, [nodeTypes, query]);
  const current = Math.min(active, Math.max(matches.length - 1, 0));

  const pick = (nodeType: NodeType | undefined) => {
    if (!nodeType || disabled) return;
    onPick(nodeType);
    setQuery("");
    setActive(0);
  };

  let lastCategory = "";
  return (
    <nav className="palette" aria-label="Steps you can add">
      <div className="palette-search">
        <Icon name="search" size={14} />
        <input
          ref={ref}
          type="search"
          placeholder="Search steps…"
          aria-label="Search steps to add"
          role="combobox"
          aria-expanded="true"
          aria-controls="palette-list"
          aria-activedescendant={matches[current] ? `palette-${matches[current].type}` : undefined}
          value={query}
          disabled={disabled}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setActive(Math.min(current + 1, matches.length - 1));
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              setActive(Math.max(current - 1, 0));
            } else if (e.key === "Enter") {
              e.preventDefault();
              pick(matches[current]);
            } else if (e.key === "Escape") {
              setQuery("");
            }
          }}
        />
      </div>
      <p className="palette-target" aria-live="polite">
        {targetLabel}
      </p>
      <ul id="palette-list" role="listbox" aria-label="Step types">
        {matches.map((t, index) => {
          const heading = t.category !== lastCategory ? CATEGORY_LABEL[t.category] ?? t.category : null;
          lastCategory = t.category;
          return (
            <li key={t.type} role="presentation">
              {heading && <div className="palette-heading" role="presentation">{heading}</div>}
              <div
                id={`palette-${t.type}`}
                role="option"
                aria-selected={index === current}
                className={`palette-item cat-${t.category}${index === current ? " active" : ""}`}
                onMouseEnter={() => setActive(index)}
                onClick={() => pick(t)}
                title={t.description}
              >
                <span className="palette-icon">
                  <Icon name={t.type} />
                </span>
                <span className="palette-text">
                  <span className="palette-label">{t.label}</span>
                  <span className="palette-desc">{t.description}</span>
                </span>
                {t.effect === "write" && <span className="palette-effect" title="Sends data out: safe test mode holds it back">writes</span>}
              </div>
            </li>
          );
        })}
        {matches.length === 0 && <li className="muted palette-empty">No step matches “{query}”.</li>}
      </ul>
    </nav>
  );
});
