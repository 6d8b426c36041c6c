// The step types' names and descriptions come from the server in English; these are the texts
// the catalogues translate. A server text that differs from the one here (changed since) is
// shown as the server wrote it rather than with an outdated translation.
import { msg, t } from "./index";

const TEXTS: Record<string, [label: string, description: string]> = {
  start: [msg("Trigger"), msg("How the workflow starts: by hand, on an event, from a webhook, on a schedule or on an app's trigger (a new item, a delivery). Its output is the payload it was started with.")],
  http: [msg("HTTP request"), msg("Call any web API. URL, headers, query and body may use {{ }} references.")],
  app_action: [msg("App action"), msg("Run an action of a connected app with the parameters you give.")],
  transform: [msg("Transform data"), msg("Build a new value from earlier steps' data with {{ }} references.")],
  condition: [msg("Condition"), msg("Branch on an expression (true/false) or on switch cases; unmatched cases go to 'default'.")],
  code: [msg("Code"), msg("Run JavaScript in a sandbox. `input` holds {trigger, nodes, loop}; return the output.")],
  loop: [msg("Loop"), msg("Run the 'body' branch once per item of a list; the plain edge continues after.")],
  delay: [msg("Delay"), msg("Wait a number of seconds, or until a time.")],
  workflow: [msg("Run workflow"), msg("Start another of your workflows with a payload and use its result.")],
  respond: [msg("Respond"), msg("Answer a synchronous webhook caller with a status, headers and body.")],
  end: [msg("End"), msg("Finish the run here, as succeeded or failed, with an output.")],
  ai: [msg("AI prompt"), msg("Ask a language model; prompt and system message may use {{ }} references.")],
  mcp: [msg("MCP tool"), msg("Call a tool of a remote MCP server (Streamable HTTP) with the arguments you give.")],
};

interface Described {
  type: string;
  label: string;
  description?: string | null;
}

export function nodeTypeLabel(nodeType: Described): string {
  const known = TEXTS[nodeType.type];
  return known && known[0] === nodeType.label ? t(known[0]) : nodeType.label;
}

export function nodeTypeDescription(nodeType: Described): string {
  const known = TEXTS[nodeType.type];
  const description = nodeType.description ?? "";
  return known && known[1] === description ? t(known[1]) : description;
}
