// Which side areas are open (the palette, the details panel), remembered for the browser session.
import { useCallback, useState } from "react";

export interface Panels {
  palette: boolean;
  side: boolean;
}

const KEY = "weft.editor.panels";
// Below this width the canvas needs the room: the palette starts folded (one click or "/" opens it).
const ROOMY_PX = 1100;

/** The remembered panels, else what suits a frame `width` wide. */
export function initialPanels(width: number, stored: string | null): Panels {
  const fallback = { palette: width >= ROOMY_PX || width <= 720, side: true };
  if (!stored) return fallback;
  try {
    const parsed = JSON.parse(stored) as Partial<Panels>;
    return { palette: typeof parsed.palette === "boolean" ? parsed.palette : fallback.palette, side: typeof parsed.side === "boolean" ? parsed.side : fallback.side };
  } catch {
    return fallback;
  }
}

function readStored(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null; // storage blocked in a third-party frame: nothing is remembered
  }
}

export function usePanels(): [Panels, (change: Partial<Panels>) => void] {
  const [panels, setPanels] = useState<Panels>(() => initialPanels(window.innerWidth, readStored()));
  const update = useCallback((change: Partial<Panels>) => {
    setPanels((old) => {
      const next = { ...old, ...change };
      try {
        window.sessionStorage.setItem(KEY, JSON.stringify(next));
      } catch {
        // As above: the choice then lasts as long as the page.
      }
      return next;
    });
  }, []);
  return [panels, update];
}

/** An on/off choice remembered for the browser session under `key` (the minimap's, say). */
export function useSessionFlag(key: string, fallback: boolean): [boolean, (on: boolean) => void] {
  const [on, setOn] = useState<boolean>(() => {
    try {
      const stored = window.sessionStorage.getItem(key);
      return stored === null ? fallback : stored === "true";
    } catch {
      return fallback; // storage blocked in a third-party frame: nothing is remembered
    }
  });
  const update = useCallback(
    (next: boolean) => {
      setOn(next);
      try {
        window.sessionStorage.setItem(key, String(next));
      } catch {
        // As above: the choice then lasts as long as the page.
      }
    },
    [key],
  );
  return [on, update];
}
