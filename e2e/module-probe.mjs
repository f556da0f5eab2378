// Loaded into a Node process with `NODE_OPTIONS=--import <this file>` by the traces e2e: it
// records every `@opentelemetry/*` module the process resolves (pid and specifier, one a line,
// in $WEGENT_E2E_MODULE_LOG), so a test can tell whether the executor loaded the OTel SDK.
import { register } from "node:module";

if (process.env.WEGENT_E2E_MODULE_LOG)
  register(new URL("./module-probe-hooks.mjs", import.meta.url));
