// Bundles a TypeScript entry of bench/ into bench/out/ with esbuild and runs it in this
// process, passing the command-line flags through.
import { build } from "esbuild";
import { pathToFileURL } from "node:url";

export async function bundleAndRun(entry) {
  const outfile = new URL(`./out/${entry.replace(/\.ts$/, ".mjs")}`, import.meta.url).pathname;
  await build({
    entryPoints: [new URL(`./${entry}`, import.meta.url).pathname],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    // ws is CommonJS with optional native add-ons, and the Claude Agent SDK finds its native
    // binary next to itself: load both from node_modules as they are.
    external: ["ws", "@anthropic-ai/claude-agent-sdk"],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    // The e2e harness finds the repository from its own URL; keep that true inside the bundle.
    define: {
      "import.meta.url": JSON.stringify(new URL("../e2e/harness.ts", import.meta.url).href),
    },
    logLevel: "warning",
  });
  await import(pathToFileURL(outfile).href);
}
