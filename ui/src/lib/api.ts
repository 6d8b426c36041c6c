// The editor's only way to the server: bearer token held in memory, Refold error envelopes
// turned into ApiError, and a fetch-based SSE reader (EventSource cannot send headers).
import type { components } from "../api/schema";
import type { AppInfo, TemplateInfo, McpTool, ParamOptions, OrgEvent, Draft, Execution, ExecutionPage, NodeType, PauseState, Problem, RequestStructure, Step, VersionPage, VersionSnapshot, WeftEdge, WeftNode, Note } from "./types";
import type { ReplayReport } from "../model/replay";

type Schemas = components["schemas"];

/** What a draft carries beside its graph; an absent one is kept as the server has it. */
export interface DraftExtras {
  notes?: Note[];
  pinned?: Record<string, unknown>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** A 401 for a token the host has replaced since the request left: worth one more try. */
  staleToken = false;

  /** Per-node problems a 422 publish answer carries under `errors`. */
  get problems(): Problem[] {
    const errors = this.body.errors;
    return Array.isArray(errors) ? (errors as Problem[]) : [];
  }
}

/** What a test run is started with; the editor always follows it (`wait: false`). */
export type TestOptions = Pick<Schemas["TestIn"], "payload" | "pinned" | "run_for_real">;

type Listener = () => void;

export class Api {
  private token: string;
  // Bumped by every setToken, so a refusal can tell whether it was for the current token.
  private generation = 0;
  private expiryNoticed = false;
  private readonly tokenListeners = new Set<Listener>();
  private readonly authLostListeners = new Set<Listener>();

  constructor(
    readonly base: string,
    public workflowId: string,
    token: string,
  ) {
    this.token = token;
  }

  /** Work on another workflow from now on (one just created from a template or blank). */
  openWorkflow(id: string): void {
    this.workflowId = id;
  }

  /** The org's templates, searched by name, description and category. */
  templates(query = ""): Promise<Omit<Schemas["TemplatesOut"], "templates"> & { templates: TemplateInfo[] }> {
    return this.request("GET", `/template${query ? `?q=${encodeURIComponent(query)}` : ""}`);
  }

  /** A new private workflow from template `key` with `inputs` in place; its draft. */
  startFromTemplate(key: string, inputs: Record<string, unknown>): Promise<{ workflow: Draft }> {
    const body: Schemas["FromTemplate"] = { template: key, inputs };
    return this.request("POST", "/workflow/from-template", body);
  }

  /** A new, empty private workflow; its draft. */
  createWorkflow(): Promise<{ workflow: Draft }> {
    const body: Schemas["WorkflowCreate"] = {};
    return this.request("POST", "/workflow", body);
  }

  /** Use a fresh token: what waits for one (a refused save, the error page) tries again. */
  setToken(token: string): void {
    this.token = token;
    this.generation += 1;
    this.expiryNoticed = false;
    for (const listener of [...this.tokenListeners]) listener();
  }

  onTokenChange(listener: Listener): () => void {
    this.tokenListeners.add(listener);
    return () => this.tokenListeners.delete(listener);
  }

  /** Called when the current token is refused (a 401), at most once per token. */
  onAuthLost(listener: Listener): () => void {
    this.authLostListeners.add(listener);
    return () => this.authLostListeners.delete(listener);
  }

  /** True the first time per token: the host hears one `tokenExpiring` per expiry. */
  claimExpiryNotice(): boolean {
    if (this.expiryNoticed) return false;
    this.expiryNoticed = true;
    return true;
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const generation = this.generation;
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      // fetch rejects only when no answer came: offline, refused, cut.
      throw new ApiError(0, "NETWORK", "The server could not be reached");
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { message: text };
    }
    if (!response.ok) {
      const envelope = (parsed ?? {}) as Record<string, unknown>;
      const error = new ApiError(
        response.status,
        String(envelope.error_code ?? "HTTP_" + response.status),
        String(envelope.message ?? response.statusText),
        envelope,
      );
      if (response.status === 401) {
        error.staleToken = generation !== this.generation;
        if (!error.staleToken) for (const listener of [...this.authLostListeners]) listener();
      }
      throw error;
    }
    return parsed as T;
  }

  private get wf(): string {
    return `/workflow/${encodeURIComponent(this.workflowId)}`;
  }

  nodeTypes(): Promise<{ node_types: NodeType[] }> {
    return this.request("GET", "/node-types");
  }

  openDraft(): Promise<Draft> {
    return this.request("GET", `${this.wf}/edit`);
  }

  /** `extras` (notes, pins) are left as stored when absent. */
  saveDraft(nodes: WeftNode[], edges: WeftEdge[], revision?: number, extras?: DraftExtras): Promise<Draft> {
    // The document's nodes are complete configurations by type; a draft's may be half done.
    const body: Omit<Schemas["DraftSave"], "nodes" | "notes"> & { nodes: WeftNode[]; notes?: Note[] } = { nodes, edges, revision, ...extras };
    return this.request("PUT", `${this.wf}/draft`, body);
  }

  discardDraft(): Promise<Schemas["WorkflowOut"]> {
    return this.request("DELETE", `${this.wf}/draft`);
  }

  publish(): Promise<Schemas["PublishedOut"]> {
    const body: Schemas["PublishIn"] = { published: true };
    return this.request("PUT", `${this.wf}/publish`, body);
  }

  versions(): Promise<VersionPage> {
    return this.request("GET", `/workflow/versions/${encodeURIComponent(this.workflowId)}?limit=50`);
  }

  version(version: number): Promise<VersionSnapshot> {
    return this.request("GET", `${this.wf}/versions/${version}`);
  }

  restore(version: number): Promise<Draft> {
    return this.request("POST", `${this.wf}/versions/${version}/restore`);
  }

  requestStructure(): Promise<RequestStructure> {
    return this.request("GET", `/workflow/request-structure/${encodeURIComponent(this.workflowId)}`);
  }

  startTest(options: TestOptions): Promise<Schemas["StartedOut"]> {
    const body: Schemas["TestIn"] = { ...options, wait: false };
    return this.request("POST", `${this.wf}/test`, body);
  }

  /** Replay the last `count` ended live runs through the saved draft (safe test runs). */
  startReplay(count: number): Promise<ReplayReport> {
    return this.request("POST", `${this.wf}/draft/replay`, { count });
  }

  /** A replay's comparison as it stands (`status: "running"` until every run is compared). */
  replay(id: string): Promise<ReplayReport> {
    return this.request("GET", `${this.wf}/draft/replay/${encodeURIComponent(id)}`);
  }

  execution(id: string): Promise<Execution> {
    return this.request("GET", `/execution/${encodeURIComponent(id)}`);
  }

  executions(filters: { status?: string; page?: number; tests?: boolean; kind?: string; search?: string }): Promise<ExecutionPage> {
    const query = new URLSearchParams({ workflow_id: this.workflowId, limit: "25", page: String(filters.page ?? 1) });
    if (filters.status && filters.status !== "All") query.set("status", filters.status);
    if (filters.tests) query.set("include_tests", "true");
    if (filters.kind) query.set("trigger_kind", filters.kind);
    if (filters.search?.trim()) query.set("search", filters.search.trim());
    return this.request("GET", `/execution?${query}`);
  }

  runNode(nodeId: string, body: Pick<Schemas["RunNodeIn"], "trigger" | "nodes" | "run_for_real">): Promise<Schemas["RunNodeOut"]> {
    return this.request("POST", `${this.wf}/nodes/${encodeURIComponent(nodeId)}/run`, body);
  }

  previewExpression(nodeId: string, source: Pick<Schemas["PreviewIn"], "expression" | "template">, signal?: AbortSignal): Promise<Schemas["PreviewOut"]> {
    const body: Schemas["PreviewIn"] = { ...source, node_id: nodeId };
    return this.request("POST", `${this.wf}/expression/preview`, body, signal);
  }

  applications(): Promise<AppInfo[]> {
    return this.request("GET", "/application");
  }

  /** One app with its actions' `parameters` and `output` schemas and the connection state. */
  application(slug: string): Promise<AppInfo> {
    return this.request("GET", `/application/${encodeURIComponent(slug)}`);
  }

  /** Key-based: the credentials; OAuth2: nothing, and the answer is `{auth_url}`. */
  /** One action parameter's choices, listed by the app with the account's connection. */
  paramOptions(slug: string, action: string, param: string, values: Record<string, unknown>, refresh = false): Promise<ParamOptions> {
    const body: Schemas["ParamOptionsIn"] = { param, values, refresh };
    return this.request("POST", `/application/${encodeURIComponent(slug)}/action/${encodeURIComponent(action)}/options`, body);
  }

  connectApp(slug: string, credentials?: Record<string, string>): Promise<Schemas["ConnectionOut"] | Schemas["AuthUrlOut"]> {
    const body: Schemas["ConnectIn"] = credentials ? { credentials } : {};
    return this.request("POST", `/application/${encodeURIComponent(slug)}/connection`, body);
  }

  /** The workflow record (its app's `slug`, the live trigger). */
  workflow(): Promise<Schemas["WorkflowOut"]> {
    return this.request("GET", this.wf);
  }

  /** Whether the workflow paused itself after failed runs in a row, and why. */
  pauseState(): Promise<PauseState> {
    return this.request("GET", `${this.wf}/pause`);
  }

  /** Lift the pause: triggers, schedules and polls start again. */
  resume(): Promise<PauseState> {
    return this.request("POST", `${this.wf}/resume`);
  }

  /** The events the org declared for app `slug` (`POST /application/event`). */
  appEvents(slug: string): Promise<OrgEvent[]> {
    return this.request("GET", `/application/${encodeURIComponent(slug)}/events`);
  }

  /** A schedule's next runs, as the scheduler computes them (ISO times in `timezone`). */
  schedulePreview(cron: string, timezone: string): Promise<Schemas["ScheduleOut"]> {
    const body: Schemas["ScheduleIn"] = { cron, timezone, count: 5 };
    return this.request("POST", "/schedule/preview", body);
  }

  /** A remote MCP server's tools, listed through the org's outbound policy (`mcp` steps). */
  mcpTools(url: string, connection: string | null): Promise<{ tools: McpTool[] }> {
    const body: Schemas["McpToolsIn"] = { url, ...(connection ? { connection } : {}) };
    return this.request("POST", "/mcp/tools", body);
  }

  /** Follow a run's steps as they commit; resolves when the stream ends. */
  async followExecution(id: string, onStep: (step: Step) => void, signal: AbortSignal): Promise<void> {
    const response = await fetch(`${this.base}/execution/${encodeURIComponent(id)}/events`, {
      headers: { Authorization: `Bearer ${this.token}`, Accept: "text/event-stream" },
      signal,
      cache: "no-store",
    });
    if (!response.ok || !response.body) throw new ApiError(response.status, "SSE_FAILED", "Live updates unavailable");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data: "))
          .map((line) => line.slice(6))
          .join("\n");
        if (event === "step" && data) onStep(JSON.parse(data) as Step);
        if (event === "end" || event === "status") return;
      }
    }
  }
}
