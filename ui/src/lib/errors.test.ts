import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { errorReport, shownError } from "./errors";

describe("errors for people", () => {
  it("gives a server failure as a sentence, with the code and request id to look up", () => {
    const error = new ApiError(502, "OUTBOUND_ERROR", '{"raw": true}', { error_code: "OUTBOUND_ERROR", message: '{"raw": true}', request_id: "req-7" });
    const shown = shownError(error);
    expect(shown.sentence).toMatch(/^Something went wrong on the server\./);
    expect(shown.code).toBe("OUTBOUND_ERROR");
    expect(shown.reference).toBe("req-7");
    expect(errorReport(shown)).toContain("Reference: req-7");
  });

  it("never shows an operator setting, and sends the customer to the administrator", () => {
    // What an older server said about a blocked address.
    const message =
      "Outbound request to 10.0.0.1 refused: 10.0.0.1 is a private (RFC 1918) address. To allow it, add the host or its address range to the WEFT_OUTBOUND_ALLOW setting or the organization's outbound policy.";
    const shown = shownError({ message, retryable: false, error_code: "OUTBOUND_BLOCKED" });
    expect(shown.sentence).not.toContain("WEFT_");
    expect(shown.raw).not.toContain("WEFT_");
    expect(shown.sentence).toContain("Ask your administrator");
    expect(shown.askAdministrator).toBe(true);
    expect(shown.code).toBe("OUTBOUND_BLOCKED");
  });

  it("reads the code a step's message carries", () => {
    const shown = shownError({ message: "Outbound request to x refused: … ask your administrator to allow this address (code OUTBOUND_BLOCKED)." });
    expect(shown.code).toBe("OUTBOUND_BLOCKED");
    expect(shown.askAdministrator).toBe(true);
  });

  it("turns a bare message into a sentence and a cut connection into advice", () => {
    expect(shownError("unknown function $foo").sentence).toBe("Unknown function $foo.");
    expect(shownError(new ApiError(0, "NETWORK", "The server could not be reached")).sentence).toMatch(/nothing is lost/);
    expect(shownError({ nested: { deep: 1 } }).raw).toContain('"deep": 1');
  });
});
