import { bundleAndRun } from "./launch.mjs";
await bundleAndRun("probe.ts");
