// Publish problems as the editor shows them.
import type { Problem } from "./types";

/** A problem's message without the "Node "X" (id): field:" prefix the editor already shows. */
export function problemText(problem: Problem): string {
  let text = problem.message.replace(/^Node "[^"]*" \([^)]*\): /, "");
  if (problem.field && text.startsWith(`${problem.field}: `)) text = text.slice(problem.field.length + 2);
  return text;
}
