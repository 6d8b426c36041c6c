import { describe, expect, it } from "vitest";
import type { AppInfo } from "../lib/types";
import { connectableApps, exampleOf, matchesAll, oauthOutcome } from "./apps";

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

describe("connections", () => {
  const app = (slug: string, name: string, extra: Partial<AppInfo> = {}): AppInfo => ({
    _id: slug, app_id: slug, slug, name, icon: null, description: null, tags: [], type: "native", ecosystem: "weft",
    auth_type: "keybased", auth_type_options: {}, auth_input_map: [], connected: false, reauth_required: false,
    connected_accounts: [], is_default: false, actions: [], ...extra,
  });

  it("groups the apps a step may be signed with by their state, keyless apps left out", () => {
    const groups = connectableApps([
      app("zeta", "Zeta", { connected: true }),
      app("open", "Open data", { auth_type: "none" }),
      app("hub", "HubSpot", { auth_type: "oauth2", reauth_required: true }),
      app("acme", "Acme", { connected: true }),
      app("slack", "Slack"),
    ]);
    expect(groups.connected.map((a) => a.slug)).toEqual(["acme", "zeta"]);
    expect(groups.expired.map((a) => a.slug)).toEqual(["hub"]);
    expect(groups.missing.map((a) => a.slug)).toEqual(["slack"]);
  });

  it("reads only the callback page's messages about the app asked for", () => {
    expect(oauthOutcome({ type: "weft-oauth", app: "hub", ok: true }, "hub")).toEqual({ ok: true });
    expect(oauthOutcome({ type: "weft-oauth", app: "hub", ok: false, error: "access_denied" }, "hub")).toEqual({ ok: false, reason: "access was not allowed" });
    expect(oauthOutcome({ type: "weft-oauth", app: "hub", ok: false, message: "Token endpoint answered 500" }, "hub")).toEqual({ ok: false, reason: "Token endpoint answered 500" });
    expect(oauthOutcome({ type: "weft-oauth", app: "other", ok: true }, "hub")).toBeNull();
    expect(oauthOutcome("weft-oauth", "hub")).toBeNull();
    expect(oauthOutcome(null, "hub")).toBeNull();
  });
});
