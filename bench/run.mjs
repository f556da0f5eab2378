// Launcher for `npm run bench`: see launch.mjs.
import { bundleAndRun } from "./launch.mjs";

await bundleAndRun("run.ts");
