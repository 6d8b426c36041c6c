// Undo/redo over immutable snapshots. Edits that arrive in a burst under one key (typing in a
// field, dragging a node) merge into one step so undo goes back a meaningful amount.

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  lastKey: string | null;
  lastAt: number;
}

export const HISTORY_LIMIT = 200;
const MERGE_WINDOW_MS = 800;

export function createHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastKey: null, lastAt: 0 };
}

/** Record a new present; `key` merges consecutive edits of the same thing within a short window. */
export function push<T>(history: History<T>, next: T, key: string | null = null, now = Date.now()): History<T> {
  if (next === history.present) return history;
  const merge = key !== null && key === history.lastKey && now - history.lastAt < MERGE_WINDOW_MS;
  const past = merge ? history.past : [...history.past, history.present].slice(-HISTORY_LIMIT);
  return { past, present: next, future: [], lastKey: key, lastAt: now };
}

export function undo<T>(history: History<T>): History<T> {
  if (history.past.length === 0) return history;
  const previous = history.past[history.past.length - 1];
  return {
    past: history.past.slice(0, -1),
    present: previous,
    future: [history.present, ...history.future],
    lastKey: null,
    lastAt: 0,
  };
}

export function redo<T>(history: History<T>): History<T> {
  if (history.future.length === 0) return history;
  const [next, ...rest] = history.future;
  return { past: [...history.past, history.present], present: next, future: rest, lastKey: null, lastAt: 0 };
}

/** Replace the present without an undo step (a server answer, a reload). */
export function reset<T>(history: History<T>, present: T, keepPast = false): History<T> {
  return keepPast ? { ...history, present, lastKey: null } : createHistory(present);
}

export const canUndo = <T>(h: History<T>): boolean => h.past.length > 0;
export const canRedo = <T>(h: History<T>): boolean => h.future.length > 0;
