// Bundles the executor into plain JavaScript so the user's machine needs no TypeScript
// runtime. The protocol package and zod are bundled in; the other dependencies stay external.
// zod is bundled so that only the parts we use are loaded and kept in the idle executor's
// memory (see the two plugins below). The output is kept ASCII-only, see the end.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));

/**
 * zod's entry also loads its ~60 translations of error messages: `z.locales` becomes an empty
 * namespace. We use the English messages, which zod imports and sets up on its own.
 */
const zodWithoutTranslations = {
  name: "zod-without-translations",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: "zod-locales", namespace: "zod-without-translations" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-without-translations" }, () => ({
      contents: "export {};",
      loader: "js",
    }));
  },
};

/**
 * `import { z } from "zod"` hands over zod's whole namespace object, so esbuild keeps all of
 * zod; `import * as z from "zod"` lets it keep only what `z.<name>` reaches (half the code).
 * The two mean the same; the executor's and protocol's sources are read with the second.
 */
const zodNamespace = {
  name: "zod-namespace",
  setup(b) {
    b.onLoad({ filter: /[\\/](executor|protocol)[\\/]src[\\/].*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      return {
        contents: source.replace(/^import \{ z \} from "zod";$/gm, 'import * as z from "zod";'),
        loader: "ts",
      };
    });
  },
};

const outfile = new URL("./dist/cli.js", import.meta.url).pathname;

await build({
  entryPoints: [new URL("./src/cli.ts", import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  external: Object.keys(pkg.dependencies ?? {}).filter((name) => name !== "zod"),
  plugins: [zodWithoutTranslations, zodNamespace],
  banner: { js: "#!/usr/bin/env node" },
  define: { __EXECUTOR_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
});

// esbuild escapes non-ASCII characters in strings but keeps comments as they are. One "—" in
// a comment makes V8 hold the whole bundle's source as UTF-16, twice its size, for as long as
// the executor runs. Comments only: each such character becomes "?" (one UTF-16 unit for one,
// so the source map's columns stay right); anything else is refused.
const code = readFileSync(outfile, "utf8");
const lines = code.split("\n");
for (const [index, line] of lines.entries()) {
  const at = line.search(/[\u0080-\uffff]/);
  if (at === -1) continue;
  const trimmed = line.trimStart();
  const inComment =
    line.slice(0, at).includes("//") || trimmed.startsWith("*") || trimmed.startsWith("/*");
  if (!inComment) {
    throw new Error(`dist/cli.js:${index + 1}: a non-ASCII character outside a comment`);
  }
  lines[index] = line.replace(/[\u0080-\uffff]/g, "?");
}
writeFileSync(outfile, lines.join("\n"));
