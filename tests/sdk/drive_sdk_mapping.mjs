// Drives @cobaltio/cobalt-js (unchanged, from the npm registry) through field mapping, as a
// SaaS's settings page would: connect the app, get the config (its labels are the SaaS's own
// fields), read the map field's options (the app's fields, loaded from the connected account),
// map each label to an option, save, and read the config back.
// Input (environment): WEFT_URL, WEFT_TOKEN, WEFT_SLUG, WEFT_CREDENTIALS, WEFT_WORKFLOW_ID,
// WEFT_FIELD (the map dataslot). Output: one JSON object on stdout, checked by test_cobalt_js.py.
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

const labels = [
    { name: "Email", value: "email" },
    { name: "Full name", value: "name" },
];
await step("configBeforeConnect", () => cobalt.config({ slug, labels }));
await step("connect", () => cobalt.connect(slug, JSON.parse(env.WEFT_CREDENTIALS)));
await step("config", () => cobalt.config({ slug, labels }));

// Pick, for each label, the option whose name looks like it (as a user choosing from a list).
const mapping = {};
const field = results.config.ok
    ? results.config.value.workflows
          .find((w) => w.id === workflowId)
          .fields.find((f) => f.id === env.WEFT_FIELD)
    : null;
for (const label of field ? field.labels : []) {
    const word = label.name.toLowerCase().split(" ").pop();
    const option = (field.options || []).find((o) => o.name.toLowerCase().includes(word));
    if (option) mapping[label.value] = option.value;
}
results.mapping = mapping;
await step("updateConfig", () =>
    cobalt.updateConfig({
        slug,
        fields: {},
        workflows: [{ id: workflowId, enabled: true, fields: { [env.WEFT_FIELD]: mapping } }],
    }),
);
await step("getConfig", () => cobalt.getConfig(slug));

process.stdout.write(JSON.stringify(results) + "\n");
