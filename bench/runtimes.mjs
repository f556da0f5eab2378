// Launcher for `npm run bench:runtimes`: see launch.mjs and runtimes.ts.
import { bundleAndRun } from "./launch.mjs";

await bundleAndRun("runtimes.ts");
