// `wrangler dev` without its DevTools inspector. The CLI of wrangler 4 always opens one (on
// 127.0.0.1:9229, plus workerd's own on a random loopback port), and any local client that sends
// a loopback Origin can evaluate code inside the Worker with it: its secrets (JWT_SECRET), D1,
// R2. The same dev server through wrangler's API with `inspector: false` opens neither.
// Flags (a subset of `wrangler dev`'s): --ip, --port, --persist-to, --var NAME:VALUE (repeatable).
import { join } from "node:path";
import { parseArgs } from "node:util";
import { unstable_startWorker } from "wrangler";

const root = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    ip: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8787" },
    "persist-to": { type: "string" },
    var: { type: "string", multiple: true, default: [] },
  },
});

const bindings = {};
for (const pair of values.var) {
  const at = pair.indexOf(":");
  if (at <= 0) throw new Error(`--var ${pair}: expected NAME:VALUE`);
  bindings[pair.slice(0, at)] = { type: "plain_text", value: pair.slice(at + 1) };
}

// OpenTelemetry (docs/observability.md): the OTEL_* variables of this process's environment
// become the Worker's, so `npm start` traces when its own environment says so. They travel as
// bindings, never as arguments (the OTLP headers are a secret: `ps` shows arguments).
const OTEL = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_SERVICE_NAME",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
];
for (const name of OTEL) {
  const value = process.env[name];
  if (value && !(name in bindings)) {
    bindings[name] = {
      type: name === "OTEL_EXPORTER_OTLP_HEADERS" ? "secret_text" : "plain_text",
      value,
    };
  }
}

const worker = await unstable_startWorker({
  config: join(root, "wrangler.toml"),
  bindings,
  dev: {
    server: { hostname: values.ip, port: Number(values.port) },
    inspector: false,
    watch: false,
    ...(values["persist-to"] ? { persist: values["persist-to"] } : {}),
  },
});
await worker.ready;
process.stdout.write(`Ready on http://${values.ip}:${values.port} (no inspector)\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await worker.dispose().catch(() => undefined);
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
