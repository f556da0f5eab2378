// Packs the built executor into the SPA's assets as /wegent-executor.tgz, so every deployment
// serves the executor that matches it (the "Add a device" command installs from there).
import { execFileSync } from "node:child_process";
import { renameSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dest = join(root, "web/dist");
const out = execFileSync(
  "npm",
  ["pack", "./executor", "--pack-destination", dest, "--json", "--ignore-scripts"],
  {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const [packed] = JSON.parse(out);
renameSync(join(dest, packed.filename), join(dest, "wegent-executor.tgz"));
console.log(
  `packed ${packed.name}@${packed.version} (${packed.size} bytes) → web/dist/wegent-executor.tgz`,
);
