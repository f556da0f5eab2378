// The resolve hook of e2e/module-probe.mjs (runs on Node's loader thread).
import { appendFileSync } from "node:fs";

const log = process.env.WEGENT_E2E_MODULE_LOG;

export async function resolve(specifier, context, nextResolve) {
  if (log && specifier.startsWith("@opentelemetry/")) {
    appendFileSync(log, `${process.pid} ${specifier}\n`);
  }
  return nextResolve(specifier, context);
}
