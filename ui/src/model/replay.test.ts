import { describe, expect, it } from "vitest";
import { fieldPath, replayCount, replaySummary, runLabel, shortJson, type ReplayReport, type ReplayRun } from "./replay";

const run = (over: Partial<ReplayRun>): ReplayRun => ({
  live_execution_id: "a",
  test_execution_id: "b",
  version: 1,
  live_status: "succeeded",
  test_status: "succeeded",
  started_at: null,
  trigger: {},
  status: "same",
  message: null,
  changed: 0,
  unchanged: 3,
  steps: [],
  ...over,
});

const report = (over: Partial<ReplayReport>): ReplayReport => ({
  id: "r",
  workflow_id: "w",
  requested: 20,
  created_at: "",
  status: "done",
  total: 3,
  pending: 0,
  with_changes: 0,
  runs: [],
  ...over,
});

describe("replay", () => {
  it("takes only whole counts within bounds", () => {
    expect(replayCount("20")).toBe(20);
    expect(replayCount(" 1 ")).toBe(1);
    for (const bad of ["0", "101", "1000000", "2.5", "", "x", "-3"]) expect(replayCount(bad)).toBeNull();
  });

  it("sums up where a replay stands", () => {
    expect(replaySummary(report({ total: 0 }))).toMatch(/nothing to replay/);
    expect(replaySummary(report({ status: "running", pending: 2 }))).toBe("Replaying… 1 of 3 runs compared.");
    expect(replaySummary(report({}))).toMatch(/^No change/);
    expect(replaySummary(report({ with_changes: 1, total: 1 }))).toBe("1 of 1 run would change.");
  });

  it("labels runs and fields for people", () => {
    expect(runLabel(run({ status: "changed", changed: 1 }))).toBe("1 step changed");
    expect(runLabel(run({ status: "no_outputs" }))).toBe("Not compared");
    expect(fieldPath("$.output.greeting")).toBe("output.greeting");
    expect(fieldPath("status")).toBe("status");
    expect(shortJson("x".repeat(200), 10)).toHaveLength(10);
    expect(shortJson(undefined)).toBe("");
  });
});
