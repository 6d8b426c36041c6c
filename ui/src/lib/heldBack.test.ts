import { describe, expect, it } from "vitest";
import { heldBack, heldBackSteps, wouldSendSummary } from "./heldBack";

const held = (would_send: unknown) => ({ latest_output: { safe_mode: true, would_send } });

describe("held-back writes", () => {
  it("are the steps whose output is the safe-mode stand-in, in run order", () => {
    const steps = {
      "1": { latest_output: { name: "Ada" } },
      "3": held({ method: "POST", url: "https://api.test/subscriptions" }),
      "2": held({ method: "POST", url: "https://api.test/customers" }),
      "9": held({ method: "DELETE", url: "https://api.test/gone" }),
    };
    // Step 9 was deleted from the draft since the run: it cannot be chosen.
    expect(heldBackSteps(["1", "2", "3", "9"], steps, new Set(["1", "2", "3"]))).toEqual(["2", "3"]);
    expect(heldBack(null)).toBe(false);
    expect(heldBack({ status: 200 })).toBe(false);
  });

  it("are summed up by what they would send", () => {
    expect(wouldSendSummary(held({ method: "POST", url: "https://a.test/x" }).latest_output)).toBe("POST https://a.test/x");
    expect(wouldSendSummary(held({ app: "stripe", action: "create_customer", params: {} }).latest_output)).toBe("stripe: create_customer");
    expect(wouldSendSummary(held({ workflow_id: "abc", payload: {} }).latest_output)).toBe("runs another workflow");
    expect(wouldSendSummary({ safe_mode: true })).toBe("");
  });
});
