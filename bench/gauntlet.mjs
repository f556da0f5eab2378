// Launcher: bundles the TypeScript gauntlet with esbuild (the workspace protocol package is
// TypeScript with extensionless imports, which Node's type stripping cannot load) and runs it.
import { bundleAndRun } from "./launch.mjs";

await bundleAndRun("gauntlet.ts");
