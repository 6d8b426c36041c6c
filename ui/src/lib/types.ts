// Shapes of the editor API (docs/editor-api.md): Refold's node/edge shapes and Weft's additions.

export interface XY {
  x: number;
  y: number;
}

export interface WeftNode {
  id: string;
  type: string;
  name: string;
  position: XY;
  data: Record<string, unknown>;
}

export interface WeftEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle: string | null;
  targetHandle: string | null;
  /** The path Tidy up laid for this connection (the editor's own field; the engine ignores it). */
  route?: XY[];
}

/** A sticky note on the canvas: for people only, never run (a list beside the nodes). */
export interface Note {
  id: string;
  text: string;
  position: XY;
  width?: number;
  height?: number;
  color?: "yellow" | "blue" | "green" | "pink" | "grey";
}

export interface Graph {
  nodes: WeftNode[];
  edges: WeftEdge[];
  /** Sticky notes, saved with the draft and published with it. */
  notes?: Note[];
  /** Test outputs pinned by node id, saved with the draft (never published). */
  pins?: Record<string, unknown>;
}

export interface Problem {
  node_id: string | null;
  field?: string | null;
  code?: string;
  message: string;
}

export interface Draft extends Graph {
  _id: string;
  associated_workflow: string;
  name: string;
  settings: Record<string, unknown>;
  current_version: number;
  revision?: number;
  problems?: Problem[];
  /** Pinned test outputs by node id, as the server has them. */
  pinned?: Record<string, unknown>;
  updatedAt: string;
  /** The webhook (or app trigger) URL path of the draft's start node, known before publish. */
  webhook_path?: string | null;
  webhook_live?: boolean;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JsonSchema;
  /** An app action parameter whose choices a list action of the app gives. */
  "x-weft-options"?: OptionsSource;
  /** What the form shows for each choice of an enum (the node registry's wording). */
  "x-option-labels"?: Record<string, string>;
}

export interface OptionsSource {
  action: string;
  params?: Record<string, unknown>;
  items?: string;
  value?: string;
  label?: string;
}

export interface ParamOption {
  label: string;
  value: string | number | boolean;
}

/** `POST /application/{slug}/action/{action}/options`: the choices, or why there are none. */
export interface ParamOptions {
  options: ParamOption[];
  more: boolean;
  error: { error_code: string; message: string } | null;
}

export interface NodeType {
  type: string;
  label: string;
  category: string;
  description: string;
  branches: string[] | "cases";
  effect: string;
  schema: JsonSchema;
  defaults: Record<string, unknown> | null;
  expression_fields: string[];
  template_fields?: string[];
  bare_expression_fields?: string[];
  advanced_fields?: string[];
  /** Shared fields that do nothing for this type (the trigger's retry): not shown. */
  hidden_fields?: string[];
  output_example?: unknown;
  data_optional?: boolean;
}

export interface Step {
  node_id: string;
  node_name: string;
  node_type: string;
  node_status: string;
  iteration?: string;
  branch?: string | null;
  attempts_made: number;
  execution_time: number | null;
  input: unknown;
  latest_output: unknown;
  error: unknown;
  pinned?: boolean;
}

/** `GET /workflow/{id}/pause`: a workflow that paused itself after failed runs in a row. */
export interface PauseState {
  workflow_id: string;
  paused: boolean;
  paused_at: string | null;
  failures: number;
  reason: string | null;
  execution_id: string | null;
  streak: number;
}

export interface Execution {
  _id: string;
  workflow_id: string;
  workflow_version: number | null;
  status: string;
  trigger: string;
  /** api, webhook, schedule, event, test, app, workflow or rerun. */
  trigger_kind?: string;
  /** The payload's first keys and values, credentials hidden (at most 120 characters). */
  payload_summary?: string;
  is_test: boolean;
  payload: unknown;
  output: unknown;
  error: unknown;
  execution_time: number | null;
  createdAt: string;
  nodes?: Step[] | null;
}

export interface Page<T> {
  docs: T[];
  totalDocs: number;
  /** False: totalDocs is a lower bound (counting stops 1,000 rows past the page). */
  totalDocsExact?: boolean;
  page: number;
  totalPages: number;
  hasNextPage: boolean;
  hasPrevPage: boolean;
}

export interface VersionDoc {
  version: number;
  _id: string;
  live?: boolean;
  createdAt: string;
}

export interface VersionSnapshot extends Graph {
  version: number;
  settings?: Record<string, unknown>;
  createdAt: string;
}

export interface RequestStructure {
  payload: unknown;
  schema: unknown;
  trigger?: string;
}

export interface BootConfig {
  /** null: `/workflows/new`, the editor starts a workflow (gallery, or `template`). */
  workflowId: string | null;
  /** A template key the host opened the editor with, and its base64url JSON inputs. */
  template?: string | null;
  templateInputs?: string | null;
  apiBase: string;
  allowedOrigins: string[];
  tokenExpiresAt?: string | null;
}

/** One action of an app (`GET /application`); `parameters`/`output` only from `GET /application/{slug}`. */
export interface AppActionInfo {
  name: string;
  label: string;
  description?: string | null;
  effect?: string;
  deprecated?: boolean;
  paginated?: boolean;
  parameters?: JsonSchema;
  output?: JsonSchema;
}

export interface McpTool {
  name: string;
  title: string | null;
  description: string;
  input_schema: JsonSchema;
}

export interface AuthField {
  name: string;
  label?: string;
  placeholder?: string | null;
  type?: string;
  required?: boolean;
  description?: string | null;
}

export interface AppInfo {
  slug: string;
  name: string;
  icon: string | null;
  description: string | null;
  auth_type: string;
  auth_input_map: AuthField[];
  connected: boolean;
  reauth_required: boolean;
  connected_accounts: { identifier?: string | null; status?: string }[];
  actions: AppActionInfo[];
  triggers?: AppTriggerInfo[];
}

/** One app trigger a start node may select (`trigger: "app"`). */
export interface AppTriggerInfo {
  name: string;
  label: string;
  description?: string | null;
  kind: "polling" | "webhook";
  output?: JsonSchema;
  interval_s?: number;
  parameters?: JsonSchema;
}

/** An event the org declared with `POST /application/event`. */
export interface OrgEvent {
  name: string;
  slug: string;
  response: unknown;
  json_schema: JsonSchema | null;
}

/** A template the org offers (`GET /template`): a published version to start a workflow from. */
export interface TemplateInfo {
  _id: string;
  key: string;
  name: string;
  description: string;
  category: string;
  /** An app slug (its icon), or a short text such as an emoji. */
  icon: string | null;
  required_apps: string[];
  /** JSON Schema of the inputs (type object); empty when it takes none. */
  inputs: JsonSchema;
}
