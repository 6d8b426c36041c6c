// An mcp step's panel section: "List tools" asks the server at the step's URL for its tools
// (POST /mcp/tools, through the org's outbound policy, signed with the step's connection), then
// a tool picker and the arguments form generated from the tool's input schema. Without a list
// (a templated URL, a server not reachable from here), the tool name and arguments are edited
// by hand.
import { useState } from "react";
import type { Api } from "../lib/api";
import type { McpTool, Problem } from "../lib/types";
import { problemText } from "../lib/problems";
import { describeError } from "../state/useEditor";
import { ParamsForm } from "./AppStep";
import { CodeField, type CodeMode } from "./CodeField";

interface Props {
  api: Api;
  data: Record<string, unknown>;
  onChange(data: Record<string, unknown>): void;
  problems: Problem[];
  paths: () => string[];
  onFocusField(mode: CodeMode, source: () => unknown): void;
  readOnly: boolean;
}

export function McpStep(props: Props) {
  const { api, data, onChange, problems, readOnly } = props;
  const url = typeof data.url === "string" ? data.url : "";
  const connection = typeof data.connection === "string" && data.connection ? data.connection : null;
  const [tools, setTools] = useState<McpTool[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const args = (data.arguments && typeof data.arguments === "object" ? data.arguments : {}) as Record<string, unknown>;
  const tool = tools?.find((t) => t.name === data.tool) ?? null;
  const templated = url.includes("{{");

  async function load() {
    setLoading(true);
    setError(null);
    try {
      setTools((await api.mcpTools(url, connection)).tools);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoading(false);
    }
  }

  const toolProblems = problems.filter((p) => p.field === "tool");
  return (
    <div className="mcp-step">
      <div className="field">
        <button type="button" className="btn" disabled={readOnly || loading || !url || templated} onClick={load}>
          {loading ? "Listing tools…" : tools ? "Refresh tools" : "List the server’s tools"}
        </button>
        {templated && <p className="field-hint">The URL holds an expression: type the tool’s name below.</p>}
        {error && (
          <p className="field-problem" role="alert">
            {error}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor="mcp-tool">Tool</label>
        {tools ? (
          <select id="mcp-tool" value={String(data.tool ?? "")} disabled={readOnly} aria-invalid={toolProblems.length > 0} onChange={(e) => onChange({ ...data, tool: e.target.value, arguments: {} })}>
            {!tool && <option value={String(data.tool ?? "")}>{String(data.tool ?? "Pick a tool")}</option>}
            {tools.map((t) => (
              <option key={t.name} value={t.name}>
                {t.title || t.name}
              </option>
            ))}
          </select>
        ) : (
          <input id="mcp-tool" value={String(data.tool ?? "")} disabled={readOnly} aria-invalid={toolProblems.length > 0} onChange={(e) => onChange({ ...data, tool: e.target.value })} />
        )}
        {tool?.description && <p className="field-hint">{tool.description}</p>}
        {toolProblems.map((p, i) => (
          <p key={i} className="field-problem" role="alert">
            {problemText(p)}
          </p>
        ))}
      </div>
      {tool ? (
        <ParamsForm
          action={{ name: tool.name, label: tool.title || tool.name, parameters: tool.input_schema }}
          params={args}
          field="arguments"
          onChange={(next) => onChange({ ...data, arguments: next })}
          problems={problems}
          paths={props.paths}
          onFocusField={props.onFocusField}
        />
      ) : (
        <div className="field">
          <label htmlFor="mcp-arguments">Arguments (JSON)</label>
          <CodeField
            id="mcp-arguments"
            label="Arguments (JSON)"
            mode="json"
            minLines={3}
            value={JSON.stringify(args, null, 2)}
            paths={props.paths}
            readOnly={readOnly}
            onChange={(text) => {
              try {
                const parsed: unknown = JSON.parse(text);
                if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) onChange({ ...data, arguments: parsed });
              } catch {
                /* kept as typed until it parses */
              }
            }}
          />
        </div>
      )}
    </div>
  );
}
