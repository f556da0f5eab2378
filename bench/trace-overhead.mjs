// Launcher for `node bench/trace-overhead.mjs`: see launch.mjs and trace-overhead.ts.
import { bundleAndRun } from "./launch.mjs";

await bundleAndRun("trace-overhead.ts");
