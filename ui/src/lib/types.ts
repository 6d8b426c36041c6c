// Shapes of the editor API (docs/editor-api.md). Requests and answers are the types generated
// from the server's /openapi.json (../api/schema.d.ts, `make api-types`; `make test` fails when
// they drift); this file names the ones the editor uses. Written here by hand: the editor's own
// working graph (WeftNode), JSON Schema as the forms read it, and the page's boot config.
import type { components } from "../api/schema";

type Schemas = components["schemas"];

/**
 * `T` with its JSON Schema fields read as JSON Schema. Those fields carry schemas the server
 * passes on as data (node types', apps', org events', remote MCP tools'): the document types
 * them as any JSON object, and the forms read them through JsonSchema below.
 */
type ReadingSchemas<T, K extends keyof T> = Omit<T, K> & {
  [P in keyof Pick<T, K>]: JsonSchema | Extract<T[P], null | undefined>;
};

export type XY = Pick<Schemas["Position"], "x" | "y">;

/**
 * A node as the editor edits it. The document's `Node` is a union by type whose `data` is the
 * complete configuration of that type; a draft also holds half-configured nodes, and the
 * editor handles every type alike, so it works on this looser shape.
 */
export interface WeftNode {
  id: string;
  type: string;
  name: string;
  position: XY;
  data: Record<string, unknown>;
}

/** An edge as the server keeps it, and the path Tidy up laid for it (the editor's own field; the
 * server stores it as sent and the engine ignores it). */
export type WeftEdge = Schemas["Edge"] & { route?: XY[] };

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

export type Problem = Schemas["ProblemOut"];

export type Draft = Omit<Schemas["DraftOut"], "nodes" | "edges" | "notes"> & Graph;

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

export type ParamOption = Schemas["ParamOptionOut"];

/** `POST /application/{slug}/action/{action}/options`: the choices, or why there are none. */
export type ParamOptions = Schemas["ParamOptionsOut"];

export type NodeType = ReadingSchemas<Schemas["NodeTypeOut"], "schema">;

/** Known only for a step of a run, not for one node run alone (`POST .../nodes/{id}/run`). */
type RunOnly = "iteration" | "branch" | "pinned" | "started_at" | "finished_at";

/** A step as the editor shows it: one of a run, or one node run alone. */
export type Step = Omit<Schemas["StepOut"], RunOnly> & Partial<Pick<Schemas["StepOut"], RunOnly>>;

/** `GET /workflow/{id}/pause`: a workflow that paused itself after failed runs in a row. */
export type PauseState = Schemas["PauseOut"];

export type Execution = Schemas["ExecutionOut"];

/** `totalDocsExact` false: `totalDocs` is a lower bound (counting stops 1,000 rows past the page). */
export type ExecutionPage = Schemas["PageOut_ExecutionOut_"];

export type VersionDoc = Schemas["VersionOut"];

export type VersionPage = Schemas["PageOut_VersionOut_"];

export type VersionSnapshot = Omit<Schemas["VersionContentOut"], "nodes" | "edges" | "notes"> & Graph;

export type RequestStructure = Schemas["RequestStructureOut"];

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
export type AppActionInfo = ReadingSchemas<Schemas["AppAction"], "parameters" | "output">;

export type McpTool = ReadingSchemas<Schemas["McpToolOut"], "input_schema">;

export type AuthField = Schemas["AuthField"];

export type AppInfo = Omit<Schemas["ApplicationOut"], "actions" | "triggers"> & {
  actions: AppActionInfo[];
  triggers?: AppTriggerInfo[];
};

/** One app trigger a start node may select (`trigger: "app"`). */
export type AppTriggerInfo = ReadingSchemas<Schemas["AppTrigger"], "output" | "parameters">;

/** An event the org declared with `POST /application/event`; its `json_schema` is whatever the org sent. */
export type OrgEvent = Omit<Schemas["EventOut"], "json_schema"> & { json_schema: JsonSchema | null };

/** A template the org offers (`GET /template`): a published version to start a workflow from. */
export type TemplateInfo = ReadingSchemas<Schemas["TemplateOut"], "inputs">;
