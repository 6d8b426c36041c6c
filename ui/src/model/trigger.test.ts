import { describe, expect, it } from "vitest";
import { cronOf, describeCron, parseCron, triggerLabel } from "./trigger";

describe("schedule builder", () => {
  it("round-trips each simple form through cron", () => {
    for (const cron of ["*/15 * * * *", "0 */2 * * *", "30 9 * * *", "0 18 * * 5"]) expect(cronOf(parseCron(cron))).toBe(cron);
    expect(parseCron("0 9 1 * *").mode).toBe("cron");
  });
  it("names schedules in words", () => {
    expect(describeCron("0 9 * * *")).toBe("Every day at 09:00");
    expect(describeCron("0 9 * * 1")).toBe("Every Monday at 09:00");
    expect(describeCron("*/5 * * * *")).toBe("Every 5 minutes");
    expect(describeCron("0 9 1 * *")).toBe("Schedule · 0 9 1 * *");
  });
  it("names app triggers by app and trigger label", () => {
    const stripe = { name: "Stripe", triggers: [{ name: "new_charge", label: "New charge" }] };
    expect(triggerLabel({ trigger: "app", app: "stripe", app_trigger: "new_charge" }, stripe)).toBe("Stripe · New charge");
    expect(triggerLabel({ trigger: "manual" })).toBe("API call");
  });
});
