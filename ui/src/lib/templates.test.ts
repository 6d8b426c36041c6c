import { describe, expect, it } from "vitest";
import { InjectedDataError, appsToConnect, decodeInputs, checkInputs, encodeInputs, inputFields, inputValues } from "./templates";
import type { Graph } from "./types";

describe("injected template inputs", () => {
  it("round-trip through base64url, unicode included", () => {
    const value = { channel: "C0123", note: "héllo ✓ / + =" };
    expect(decodeInputs(encodeInputs(value))).toEqual(value);
    expect(decodeInputs(null)).toEqual({});
  });

  it("refuse hostile or oversized data with a readable error", () => {
    for (const raw of ["<script>", "%%%", encodeInputs([1, 2]), encodeInputs("text"), btoa("{not json").replace(/=+$/, ""), "x".repeat(50_000)]) {
      expect(() => decodeInputs(raw)).toThrow(InjectedDataError);
    }
    expect(() => checkInputs({ big: "x".repeat(40_000) })).toThrow(/too large/);
    expect(() => decodeInputs("_w")).toThrow(/not base64url-encoded JSON/); // not UTF-8
  });
});

describe("the inputs form", () => {
  it("types values as the schema says and keeps defaults", () => {
    const fields = inputFields({
      type: "object",
      required: ["channel"],
      properties: { channel: { type: "string" }, count: { type: "integer", default: 3 }, loud: { type: "boolean" }, tags: { type: "array" } },
    });
    expect(fields.map((f) => [f.name, f.kind, f.required, f.initial])).toEqual([
      ["channel", "text", true, ""],
      ["count", "number", false, "3"],
      ["loud", "boolean", false, ""],
      ["tags", "json", false, ""],
    ]);
    expect(inputValues(fields, { channel: "C1", loud: "true", tags: '["a"]' })).toEqual({ channel: "C1", count: 3, loud: true, tags: ["a"] });
    expect(() => inputValues(fields, { tags: "[" })).toThrow(/not valid JSON/);
  });
});

describe("apps to connect", () => {
  it("are the apps of steps waiting for a connection, once each", () => {
    const step = (id: string, app: string) => ({ id, type: "app_action", name: id, position: { x: 0, y: 0 }, data: { app } });
    const graph = { nodes: [step("2", "slack"), step("3", "hubspot"), step("4", "slack")], edges: [] } as unknown as Graph;
    const problems = [
      { node_id: "4", field: null, code: "CONNECTION_REQUIRED", message: "" },
      { node_id: "2", field: null, code: "CONNECTION_REQUIRED", message: "" },
      { node_id: "3", field: null, code: "INVALID_PARAMETERS", message: "" },
    ];
    expect(appsToConnect(problems, graph)).toEqual(["slack"]);
  });
});
