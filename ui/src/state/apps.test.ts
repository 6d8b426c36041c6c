import { describe, expect, it } from "vitest";
import { exampleOf, matchesAll } from "./apps";

describe("palette search", () => {
  it("finds an action by app and action words in any order", () => {
    const text = "HubSpot hubspot Create contact create_contact Adds a contact";
    expect(matchesAll("hubspot create contact", text)).toBe(true);
    expect(matchesAll("contact HUBSPOT", text)).toBe(true);
    expect(matchesAll("hubspot delete", text)).toBe(false);
    expect(matchesAll("  ", text)).toBe(true);
  });
});

describe("output examples for the data picker", () => {
  it("shapes a value like the action's output schema", () => {
    const schema = {
      type: "object",
      properties: {
        id: { type: "string" },
        total: { type: "integer" },
        tags: { type: "array", items: { type: "string" } },
        owner: { type: "object", properties: { email: { type: "string" } } },
        status: { type: "string", enum: ["open", "won"] },
        note: { anyOf: [{ type: "null" }, { type: "string" }] },
      },
    };
    expect(exampleOf(schema)).toEqual({ id: "", total: 0, tags: [""], owner: { email: "" }, status: "open", note: "" });
    expect(exampleOf(undefined)).toBeUndefined();
  });
});
