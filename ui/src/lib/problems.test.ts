import { describe, expect, it } from "vitest";
import { problemText } from "./problems";

describe("problem text", () => {
  it("drops the node and field prefix the editor already shows", () => {
    const problem = { node_id: "2", field: "expression", code: "UNKNOWN_NODE_REFERENCE", message: 'Node "Check" (2): expression: "nodes.x" names no node' };
    expect(problemText(problem)).toBe('"nodes.x" names no node');
  });

  it("keeps workflow-level messages whole", () => {
    expect(problemText({ node_id: null, field: null, code: "NO_START_NODE", message: "exactly one start node" })).toBe("exactly one start node");
  });
});
