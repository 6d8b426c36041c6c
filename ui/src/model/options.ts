// Dynamic options of an app action parameter (`x-weft-options`): which form values a list
// depends on, and the search that narrows the loaded choices as the user types.
import type { OptionsSource, ParamOption } from "../lib/types";

const REFERENCE = /^\{([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\}$/;

/** The parameter paths the declaration's params take values from (`{spreadsheetId}`). */
export function referencedPaths(source: OptionsSource): string[] {
  return Object.values(source.params ?? {}).flatMap((value) => {
    const match = typeof value === "string" ? REFERENCE.exec(value) : null;
    return match ? [match[1]] : [];
  });
}

/** The value at a dotted path of the form's values. */
export function valueAt(values: Record<string, unknown>, path: string): unknown {
  let found: unknown = values;
  for (const step of path.split(".")) found = found && typeof found === "object" ? (found as Record<string, unknown>)[step] : undefined;
  return found;
}

/** A key that changes when a value the list depends on changes (then it is loaded again). */
export function dependencyKey(source: OptionsSource, values: Record<string, unknown>): string {
  return JSON.stringify(referencedPaths(source).map((path) => valueAt(values, path) ?? null));
}

/** The options whose label or value holds every word of `query`, best (label starts with it) first. */
export function filterOptions(options: ParamOption[], query: string): ParamOption[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return options;
  const text = (o: ParamOption) => `${o.label} ${String(o.value)}`.toLowerCase();
  const found = options.filter((o) => words.every((w) => text(o).includes(w)));
  const first = query.trim().toLowerCase();
  return [...found.filter((o) => o.label.toLowerCase().startsWith(first)), ...found.filter((o) => !o.label.toLowerCase().startsWith(first))];
}
