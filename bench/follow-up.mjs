// Launcher for `npm run bench:follow-up`: see launch.mjs and follow-up.ts.
import { bundleAndRun } from "./launch.mjs";

await bundleAndRun("follow-up.ts");
