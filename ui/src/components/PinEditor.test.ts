import { describe, expect, it } from "vitest";
import { jsonProblem } from "./PinEditor";

describe("jsonProblem", () => {
  it("accepts any JSON value and explains what is not", () => {
    expect(jsonProblem('{"id": 7}')).toBeNull();
    expect(jsonProblem("[1, 2]")).toBeNull();
    expect(jsonProblem("42")).toBeNull();
    expect(jsonProblem("  ")).toMatch(/Enter a JSON value/);
    expect(jsonProblem('{"id": 7,\n  oops}')).toMatch(/not valid JSON/);
  });
});
