import { describe, expect, it } from "vitest";
import { dependencyKey, filterOptions, referencedPaths } from "./options";

const channels = [
  { label: "general", value: "C1" },
  { label: "random", value: "C2" },
  { label: "sales-general", value: "C3" },
  { label: "eng", value: "GENERAL9" },
];

describe("dynamic options", () => {
  it("narrows by every typed word, label matches that start with it first", () => {
    expect(filterOptions(channels, "").length).toBe(4);
    expect(filterOptions(channels, "gener").map((o) => o.value)).toEqual(["C1", "C3", "GENERAL9"]);
    expect(filterOptions(channels, "sales gen").map((o) => o.value)).toEqual(["C3"]);
    expect(filterOptions(channels, "c2").map((o) => o.label)).toEqual(["random"]);
    expect(filterOptions(channels, "nothing")).toEqual([]);
  });

  it("reloads when a value it depends on changes", () => {
    const source = { action: "list_stages", params: { pipelineId: "{properties.pipeline}", fixed: "{not a ref" } };
    expect(referencedPaths(source)).toEqual(["properties.pipeline"]);
    const before = dependencyKey(source, { properties: { pipeline: "p1" } });
    expect(dependencyKey(source, { properties: { pipeline: "p1" }, title: "x" })).toBe(before);
    expect(dependencyKey(source, { properties: { pipeline: "p2" } })).not.toBe(before);
    expect(dependencyKey({ action: "list" }, {})).toBe("[]");
  });
});
