// Drives Refold's frontend SDK (@cobaltio/cobalt-js, installed unchanged from the npm registry)
// against a running Weft, one method after another, as a SaaS's browser page would.
// Input (environment): WEFT_URL, WEFT_TOKEN (a session token), WEFT_SLUG (a key-based app),
// WEFT_CREDENTIALS (JSON: the app's key-based fields), WEFT_WORKFLOW_ID (a public workflow of it).
// Output: one JSON object on stdout with every call's result; tests/sdk/test_cobalt_js.py checks it.
import { Cobalt } from "@cobaltio/cobalt-js";

const env = process.env;
const cobalt = new Cobalt({ baseUrl: env.WEFT_URL, token: env.WEFT_TOKEN });
const slug = env.WEFT_SLUG;
const workflowId = env.WEFT_WORKFLOW_ID;
const results = {};

async function step(name, call) {
    try {
        results[name] = { ok: true, value: await call() };
    } catch (error) {
        results[name] = { ok: false, error: String(error && error.message) };
    }
}

await step("getAccountDetails", () => cobalt.getAccountDetails());
await step("getAppAll", () => cobalt.getApp());
await step("getAppBefore", () => cobalt.getApp(slug));
await step("connect", () => cobalt.connect(slug, JSON.parse(env.WEFT_CREDENTIALS)));
await step("getAppConnected", () => cobalt.getApp(slug));
await step("config", () => cobalt.config({ slug, labels: [{ name: "Lead", value: "lead" }] }));
await step("configNamed", () => cobalt.config({ slug, config_id: "eu", labels: [] }));
await step("getConfig", () => cobalt.getConfig(slug));
await step("updateConfig", () =>
    cobalt.updateConfig({
        slug,
        fields: { region: "eu" },
        workflows: [{ id: workflowId, enabled: true, fields: { channel: "#sales" } }],
    }),
);
await step("getConfigNamed", () => cobalt.getConfig(slug, "eu"));
await step("deleteConfigNamed", () => cobalt.deleteConfig(slug, "eu"));
await step("getConfigDeleted", () => cobalt.getConfig(slug, "eu"));
await step("deleteConfig", () => cobalt.deleteConfig(slug));
await step("disconnect", () => cobalt.disconnect(slug));
await step("getAppDisconnected", () => cobalt.getApp(slug));

const bad = new Cobalt({ baseUrl: env.WEFT_URL, token: "not-a-token" });
await step("badToken", () => bad.getApp());

process.stdout.write(JSON.stringify(results) + "\n");
