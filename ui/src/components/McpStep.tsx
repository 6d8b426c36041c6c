// An mcp step's panel section: "List tools" asks the server at the step's URL for its tools
// (POST /mcp/tools, through the org's outbound policy, signed with the step's connection), then
// a tool picker and the arguments form generated from the tool's input schema. Without a list
// (a templated URL, a server not reachable from here), the tool name and arguments are edited
// by hand. Lists are kept per URL and connection for the page's life, and a step whose tool
// was picked lists again by itself when its panel opens, so its form comes back.
import { useEffect, useState } from "react";
import type { Api } from "../lib/api";
import type { McpTool, Problem } from "../lib/types";
import { problemText } from "../lib/problems";
import { describeError } from "../state/useEditor";
import { ParamsForm } from "./AppStep";
import { CodeField, type CodeMode } from "./CodeField";
import { t } from "../i18n";

const listed = new Map<string, McpTool[]>();

interface Props {
  api: Api;
  data: Record<string, unknown>;
  /** The node type's defaults: a step still holding them has no tool picked yet. */
  defaults: Record<string, unknown> | null;
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
  const key = `${connection ?? ""} ${url}`;
  const [, setListedKey] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const tools = listed.get(key) ?? null;
  const args = (data.arguments && typeof data.arguments === "object" ? data.arguments : {}) as Record<string, unknown>;
  const tool = tools?.find((t) => t.name === data.tool) ?? null;
  const templated = url.includes("{{");
  const picked = Boolean(data.tool) && data.tool !== props.defaults?.tool && url !== props.defaults?.url;

  async function load() {
    setLoading(true);
    setError(null);
    try {
      listed.set(key, (await api.mcpTools(url, connection)).tools);
      setListedKey(key);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    if (picked && url && !templated && !listed.has(key)) void load();
    // Once per opened panel: typing a new URL lists only when asked.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const toolProblems = problems.filter((p) => p.field === "tool");
  return (
    <div className="mcp-step">
      <div className="field">
        <button type="button" className="btn" disabled={readOnly || loading || !url || templated} onClick={load}>
          {loading ? t("Listing tools…") : tools ? t("Refresh tools") : t("List the server’s tools")}
        </button>
        {templated && <p className="field-hint">{t("The URL holds an expression: type the tool’s name below.")}</p>}
        {error && (
          <p className="field-problem" role="alert">
            {error}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor="mcp-tool">{t("Tool")}</label>
        {tools ? (
          <select id="mcp-tool" value={String(data.tool ?? "")} disabled={readOnly} aria-invalid={toolProblems.length > 0} onChange={(e) => onChange({ ...data, tool: e.target.value, arguments: {} })}>
            {!tool && <option value={String(data.tool ?? "")}>{data.tool ? String(data.tool) : t("Pick a tool")}</option>}
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
          <label htmlFor="mcp-arguments">{t("Arguments (JSON)")}</label>
          <CodeField
            id="mcp-arguments"
            label={t("Arguments (JSON)")}
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
