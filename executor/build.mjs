// Bundles the executor into plain JavaScript so the user's machine needs no TypeScript
// runtime. The protocol package is bundled in; real dependencies stay external.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));

await build({
  entryPoints: [new URL("./src/cli.ts", import.meta.url).pathname],
  outfile: new URL("./dist/cli.js", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  external: Object.keys(pkg.dependencies ?? {}),
  banner: { js: "#!/usr/bin/env node" },
  define: { __EXECUTOR_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
});
